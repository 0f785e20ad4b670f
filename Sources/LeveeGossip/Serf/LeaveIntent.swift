/// A node announcing it leaves (serf messages.go `messageLeave`); `prune` asks peers to forget it
/// at once (`serf force-leave -prune`).
public struct LeaveIntent: MsgpackStruct {
    public var lTime: LamportTime
    public var node: String
    public var prune: Bool

    public init(lTime: LamportTime, node: String, prune: Bool = false) {
        self.lTime = lTime
        self.node = node
        self.prune = prune
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(3)
        writer.writeString("LTime")
        writer.writeUnsigned(lTime.rawValue)
        writer.writeString("Node")
        writer.writeString(node)
        writer.writeString("Prune")
        writer.writeBool(prune)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "LeaveIntent")
        lTime = LamportTime(try fields.unsigned("LTime"))
        node = try fields.string("Node")
        prune = try fields.bool("Prune")
    }
}
