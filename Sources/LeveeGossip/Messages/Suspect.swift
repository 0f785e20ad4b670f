/// Gossip that `node` is suspected at `incarnation` (memberlist net.go `suspect`).
public struct Suspect: MsgpackStruct {
    public var incarnation: UInt32
    public var node: String
    /// The node that suspects it.
    public var from: String

    public init(incarnation: UInt32, node: String, from: String) {
        self.incarnation = incarnation
        self.node = node
        self.from = from
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(3)
        writer.writeString("From")
        writer.writeString(from)
        writer.writeString("Incarnation")
        writer.writeUnsigned(UInt64(incarnation))
        writer.writeString("Node")
        writer.writeString(node)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "Suspect")
        incarnation = try fields.unsigned("Incarnation")
        node = try fields.string("Node")
        from = try fields.string("From")
    }
}
