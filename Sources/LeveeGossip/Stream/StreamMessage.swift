/// The one message a TCP stream carries in each direction (memberlist net.go `handleConn`).
public enum StreamMessage: Hashable, Sendable {
    /// The TCP fallback probe; answered with `.ack`.
    case ping(Ping)
    case ack(Ack)
    case pushPull(PushPull)
    /// A reliable user message: `[8][userMsgHeader][UserMsgLen bytes]` on the wire.
    case user([UInt8])
    /// The peer could not read what we sent.
    case err(ErrorResponse)

    /// The message without compression or encryption.
    public func encoded() -> [UInt8] {
        switch self {
        case .ping(let ping):
            return [MessageType.ping.rawValue] + ping.msgpackEncoded()
        case .ack(let ack):
            return [MessageType.ack.rawValue] + ack.msgpackEncoded()
        case .pushPull(let state):
            return state.encoded()
        case .user(let payload):
            return [MessageType.user.rawValue] + UserMessageHeader(userMsgLen: payload.count).msgpackEncoded() + payload
        case .err(let response):
            return [MessageType.err.rawValue] + response.msgpackEncoded()
        }
    }
}
