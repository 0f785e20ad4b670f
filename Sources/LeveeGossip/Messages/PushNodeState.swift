/// One node of a push/pull exchange (memberlist net.go `pushNodeState`).
public struct PushNodeState: MsgpackStruct {
    public var name: String
    public var addr: [UInt8]
    public var port: UInt16
    public var meta: [UInt8]
    public var incarnation: UInt32
    public var state: MemberState
    public var versions: ProtocolVersions

    public init(
        name: String,
        addr: [UInt8],
        port: UInt16,
        meta: [UInt8],
        incarnation: UInt32,
        state: MemberState,
        versions: ProtocolVersions = .serfAgent
    ) {
        self.name = name
        self.addr = addr
        self.port = port
        self.meta = meta
        self.incarnation = incarnation
        self.state = state
        self.versions = versions
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(7)
        writer.writeString("Addr")
        writer.writeRaw(addr)
        writer.writeString("Incarnation")
        writer.writeUnsigned(UInt64(incarnation))
        writer.writeString("Meta")
        writer.writeRaw(meta)
        writer.writeString("Name")
        writer.writeString(name)
        writer.writeString("Port")
        writer.writeUnsigned(UInt64(port))
        writer.writeString("State")
        writer.writeSigned(Int64(state.rawValue))
        writer.writeString("Vsn")
        writer.writeRaw(versions.bytes)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "PushNodeState")
        name = try fields.string("Name")
        addr = try fields.bytes("Addr")
        port = try fields.unsigned("Port")
        meta = try fields.bytes("Meta")
        incarnation = try fields.unsigned("Incarnation")
        let rawState: Int = try fields.signed("State")
        guard let state = MemberState(rawValue: rawState) else {
            throw WireError(.invalidValue, field: fields.path("State"), "unknown node state \(rawState)")
        }
        self.state = state
        versions = try ProtocolVersions(bytes: try fields.bytes("Vsn"), field: fields.path("Vsn"))
    }
}
