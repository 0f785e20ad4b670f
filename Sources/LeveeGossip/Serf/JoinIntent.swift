/// A node announcing it joined, stamped with the member clock (serf messages.go `messageJoin`).
public struct JoinIntent: MsgpackStruct {
    public var lTime: LamportTime
    public var node: String

    public init(lTime: LamportTime, node: String) {
        self.lTime = lTime
        self.node = node
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(2)
        writer.writeString("LTime")
        writer.writeUnsigned(lTime.rawValue)
        writer.writeString("Node")
        writer.writeString(node)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "JoinIntent")
        lTime = LamportTime(try fields.unsigned("LTime"))
        node = try fields.string("Node")
    }
}
