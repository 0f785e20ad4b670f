/// A complete push/pull state as read from or written to a stream: the header's `Join` flag, the
/// node states and the opaque user (Serf) state (memberlist net.go `sendLocalState`,
/// `readRemoteState`).
public struct PushPull: Hashable, Sendable {
    public var join: Bool
    public var nodes: [PushNodeState]
    /// The delegate's `LocalState`; for Serf `[2][msgpack messagePushPull]` (see `SerfPushPull`).
    public var userState: [UInt8]

    public init(join: Bool, nodes: [PushNodeState], userState: [UInt8]) {
        self.join = join
        self.nodes = nodes
        self.userState = userState
    }

    /// `[6][header][node state × n][user state]`.
    public func encoded() -> [UInt8] {
        var writer = MsgpackWriter()
        writer.writeEncoded(CollectionOfOne(MessageType.pushPull.rawValue))
        PushPullHeader(nodes: nodes.count, userStateLen: userState.count, join: join).encode(to: &writer)
        for node in nodes { node.encode(to: &writer) }
        writer.writeEncoded(userState)
        return writer.bytes
    }
}
