/// A Serf delegate message: `[serf type][msgpack]`, carried in a memberlist `user` message or, for
/// push/pull, as the memberlist push/pull user state (serf messages.go `encodeMessage`,
/// delegate.go `NotifyMsg`).
public enum SerfMessage: Hashable, Sendable {
    case leave(LeaveIntent)
    case join(JoinIntent)
    case pushPull(SerfPushPull)
    case userEvent(UserEvent)
    case query(Query)
    case queryResponse(QueryResponse)
    case conflictResponse(ConflictMember)
    case keyRequest(KeyRequest)
    case keyResponse(KeyResponse)
    /// A message to forward to `header.destIP:destPort`; `inner` is the raw `[type][msgpack]` to send.
    case relay(RelayHeader, inner: [UInt8])

    public var type: SerfMessageType {
        switch self {
        case .leave: .leave
        case .join: .join
        case .pushPull: .pushPull
        case .userEvent: .userEvent
        case .query: .query
        case .queryResponse: .queryResponse
        case .conflictResponse: .conflictResponse
        case .keyRequest: .keyRequest
        case .keyResponse: .keyResponse
        case .relay: .relay
        }
    }

    public func encoded() -> [UInt8] {
        var writer = MsgpackWriter()
        writer.writeEncoded(CollectionOfOne(type.rawValue))
        switch self {
        case .leave(let body): body.encode(to: &writer)
        case .join(let body): body.encode(to: &writer)
        case .pushPull(let body): body.encode(to: &writer)
        case .userEvent(let body): body.encode(to: &writer)
        case .query(let body): body.encode(to: &writer)
        case .queryResponse(let body): body.encode(to: &writer)
        case .conflictResponse(let body): body.encode(to: &writer)
        case .keyRequest(let body): body.encode(to: &writer)
        case .keyResponse(let body): body.encode(to: &writer)
        case .relay(let header, let inner):
            header.encode(to: &writer)
            writer.writeEncoded(inner)
        }
        return writer.bytes
    }

    /// Decodes `[serf type][msgpack]`; an unknown type is `.unsupportedMessageType`, which Serf logs
    /// and drops (delegate.go `NotifyMsg`).
    public init(_ bytes: [UInt8], limits: DecodeLimits = .defaults) throws(WireError) {
        guard let first = bytes.first else {
            throw WireError(.truncated, field: "serf", "missing serf message type byte")
        }
        guard let type = SerfMessageType(rawValue: first) else {
            throw WireError(.unsupportedMessageType, field: "serf", "unknown serf message type \(first)")
        }
        var reader = MsgpackReader(bytes, offset: 1, limits: limits)
        let value = try reader.readValue()
        switch type {
        case .leave: self = .leave(try LeaveIntent(msgpack: value))
        case .join: self = .join(try JoinIntent(msgpack: value))
        case .pushPull: self = .pushPull(try SerfPushPull(msgpack: value))
        case .userEvent: self = .userEvent(try UserEvent(msgpack: value))
        case .query: self = .query(try Query(msgpack: value))
        case .queryResponse: self = .queryResponse(try QueryResponse(msgpack: value))
        case .conflictResponse: self = .conflictResponse(try ConflictMember(msgpack: value))
        case .keyRequest: self = .keyRequest(try KeyRequest(msgpack: value))
        case .keyResponse: self = .keyResponse(try KeyResponse(msgpack: value))
        case .relay:
            let inner = Array(bytes[reader.offset...])
            guard !inner.isEmpty else {
                throw WireError(.truncated, field: "serf.relay", "relay without an inner message")
            }
            self = .relay(try RelayHeader(msgpack: value), inner: inner)
        }
    }
}
