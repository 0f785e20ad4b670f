/// Gossip that `node` is alive at `incarnation`, with its address and metadata (memberlist net.go
/// `alive`).
///
/// `Meta` is at most 512 bytes (memberlist.go `MetaMaxSize`); Serf puts its tags there
/// (see `Tags`). `Vsn` is always six bytes (see `ProtocolVersions`).
public struct Alive: MsgpackStruct {
    /// memberlist memberlist.go `MetaMaxSize`.
    public static let maxMetaBytes = 512

    public var incarnation: UInt32
    public var node: String
    /// The IP address: 4 bytes for IPv4, 16 for IPv6.
    public var addr: [UInt8]
    public var port: UInt16
    public var meta: [UInt8]
    public var versions: ProtocolVersions

    public init(
        incarnation: UInt32,
        node: String,
        addr: [UInt8],
        port: UInt16,
        meta: [UInt8],
        versions: ProtocolVersions = .serfAgent
    ) {
        self.incarnation = incarnation
        self.node = node
        self.addr = addr
        self.port = port
        self.meta = meta
        self.versions = versions
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(6)
        writer.writeString("Addr")
        writer.writeRaw(addr)
        writer.writeString("Incarnation")
        writer.writeUnsigned(UInt64(incarnation))
        writer.writeString("Meta")
        writer.writeRaw(meta)
        writer.writeString("Node")
        writer.writeString(node)
        writer.writeString("Port")
        writer.writeUnsigned(UInt64(port))
        writer.writeString("Vsn")
        writer.writeRaw(versions.bytes)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "Alive")
        incarnation = try fields.unsigned("Incarnation")
        node = try fields.string("Node")
        addr = try fields.bytes("Addr")
        port = try fields.unsigned("Port")
        meta = try fields.bytes("Meta")
        versions = try ProtocolVersions(bytes: try fields.bytes("Vsn"), field: fields.path("Vsn"))
    }
}
