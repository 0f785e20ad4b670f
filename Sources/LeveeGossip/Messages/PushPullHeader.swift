/// The first value of a push/pull stream (memberlist net.go `pushPullHeader`).
///
/// It announces how many `PushNodeState` values follow and how many raw user-state bytes come after
/// them. The responder echoes the initiator's `Join` flag (net.go `handleConn` → `sendLocalState`).
public struct PushPullHeader: MsgpackStruct {
    public var nodes: Int
    public var userStateLen: Int
    public var join: Bool

    public init(nodes: Int, userStateLen: Int, join: Bool) {
        self.nodes = nodes
        self.userStateLen = userStateLen
        self.join = join
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(3)
        writer.writeString("Join")
        writer.writeBool(join)
        writer.writeString("Nodes")
        writer.writeSigned(Int64(nodes))
        writer.writeString("UserStateLen")
        writer.writeSigned(Int64(userStateLen))
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "PushPullHeader")
        nodes = try fields.signed("Nodes")
        userStateLen = try fields.signed("UserStateLen")
        join = try fields.bool("Join")
    }
}
