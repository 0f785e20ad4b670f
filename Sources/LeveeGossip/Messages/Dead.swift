/// Gossip that `node` is dead at `incarnation` (memberlist net.go `dead`).
///
/// `from == node` is a graceful leave: the receiver marks the node Left rather than Dead
/// (state.go `deadNode`).
public struct Dead: MsgpackStruct {
    public var incarnation: UInt32
    public var node: String
    public var from: String

    public init(incarnation: UInt32, node: String, from: String) {
        self.incarnation = incarnation
        self.node = node
        self.from = from
    }

    /// Whether this is the node announcing its own departure.
    public var isGracefulLeave: Bool { from == node }

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
        let fields = try MsgpackFields(value, typeName: "Dead")
        incarnation = try fields.unsigned("Incarnation")
        node = try fields.string("Node")
        from = try fields.string("From")
    }
}
