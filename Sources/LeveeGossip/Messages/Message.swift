/// One memberlist message as it arrives by UDP, after CRC, compression and compound wrappers have
/// been taken off (memberlist net.go `handleCommand`).
public enum Message: Hashable, Sendable {
    case ping(Ping)
    case indirectPing(IndirectPing)
    case ack(Ack)
    case nack(Nack)
    case suspect(Suspect)
    case alive(Alive)
    case dead(Dead)
    /// A delegate payload, opaque to memberlist; for Serf it is `[serf type][msgpack]` (see
    /// `SerfMessage`). A UDP user message has no header: the payload is the rest of the packet.
    case user([UInt8])
    /// A type byte memberlist does not handle on packets (push/pull, err, encrypt, a nested hasCrc,
    /// or unknown): Go logs and drops it, and so should the caller.
    case unsupported(type: UInt8, body: [UInt8])

    /// The message type byte.
    public var typeByte: UInt8 {
        switch self {
        case .ping: MessageType.ping.rawValue
        case .indirectPing: MessageType.indirectPing.rawValue
        case .ack: MessageType.ack.rawValue
        case .nack: MessageType.nack.rawValue
        case .suspect: MessageType.suspect.rawValue
        case .alive: MessageType.alive.rawValue
        case .dead: MessageType.dead.rawValue
        case .user: MessageType.user.rawValue
        case .unsupported(let type, _): type
        }
    }

    /// `[type][msgpack body]` (memberlist net.go `encode`).
    public func encoded() -> [UInt8] {
        var writer = MsgpackWriter()
        writer.writeEncoded(CollectionOfOne(typeByte))
        switch self {
        case .ping(let body): body.encode(to: &writer)
        case .indirectPing(let body): body.encode(to: &writer)
        case .ack(let body): body.encode(to: &writer)
        case .nack(let body): body.encode(to: &writer)
        case .suspect(let body): body.encode(to: &writer)
        case .alive(let body): body.encode(to: &writer)
        case .dead(let body): body.encode(to: &writer)
        case .user(let payload): writer.writeEncoded(payload)
        case .unsupported(_, let body): writer.writeEncoded(body)
        }
        return writer.bytes
    }

    /// Decodes a plain message, `type` being its first byte and `body` the rest. Wrapper types
    /// (compound, compress) are not plain messages and come back `.unsupported`; `PacketCodec`
    /// unwraps them first.
    public init(type: UInt8, body: [UInt8], limits: DecodeLimits = .defaults) throws(WireError) {
        switch MessageType(rawValue: type) {
        case .ping: self = .ping(try Ping(msgpackBytes: body, limits: limits))
        case .indirectPing: self = .indirectPing(try IndirectPing(msgpackBytes: body, limits: limits))
        case .ack: self = .ack(try Ack(msgpackBytes: body, limits: limits))
        case .nack: self = .nack(try Nack(msgpackBytes: body, limits: limits))
        case .suspect: self = .suspect(try Suspect(msgpackBytes: body, limits: limits))
        case .alive: self = .alive(try Alive(msgpackBytes: body, limits: limits))
        case .dead: self = .dead(try Dead(msgpackBytes: body, limits: limits))
        case .user: self = .user(body)
        default: self = .unsupported(type: type, body: body)
        }
    }
}
