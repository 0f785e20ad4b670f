public import LeveePolicy

/// The Serf layer as a value: member status, join/leave intents, user events, queries and push/pull
/// state on top of a memberlist instance it never sees (serf serf.go, delegate.go, query.go).
///
/// It does no I/O and reads no clock: every input takes `now`, randomness comes as a parameter, and
/// every method returns `SerfDirective`s for the shell to carry out. The shell wires memberlist's
/// `Delegate` (`NotifyMsg` → `onUserMessage`, `LocalState`/`MergeRemoteState`, `NodeMeta`) and
/// `EventDelegate` (`NotifyJoin`/`Update`/`Leave` → `onMemberJoined`/`Updated`/`Left`) to it.
public struct SerfInstance: Sendable {
    /// The local node's lifecycle (serf serf.go `SerfState`).
    public enum State: Hashable, Sendable {
        case alive
        /// `leave` was called; the shell is running the graceful leave sequence.
        case leaving
        /// The shell finished leaving (`didLeave`).
        case left
    }

    /// A member and the Lamport time of the last intent applied to it (serf serf.go `memberState`).
    struct MemberRecord: Sendable {
        var member: SerfMember
        var statusLTime: LamportTime
        /// When it became failed or left; the reaper's reference.
        var leaveTime: Instant?
    }

    /// An intent about a member not yet known to memberlist (serf serf.go `nodeIntent`).
    struct RecentIntent: Sendable {
        var isJoin: Bool
        var lTime: LamportTime
        var received: Instant
    }

    /// The query IDs seen at one Lamport time (serf serf.go `queries`).
    struct SeenQueries: Sendable {
        var lTime: LamportTime
        var ids: [UInt32]
    }

    /// A query this node sent, collecting answers (serf query.go `QueryResponse`).
    struct OutgoingQuery: Sendable {
        var ticket: SerfQueryTicket
        var acks: Set<String> = []
        var responses: Set<String> = []
    }

    /// Identifies a query delivered to the application.
    struct QueryKey: Hashable, Sendable {
        var lTime: LamportTime
        var id: UInt32
    }

    public let configuration: SerfConfiguration
    public internal(set) var state: State = .alive
    /// The member clock: join and leave intents, push/pull `LTime` (serf serf.go `clock`).
    public internal(set) var memberClock = LamportClock()
    /// serf serf.go `eventClock`.
    public internal(set) var eventClock = LamportClock()
    /// serf serf.go `queryClock`.
    public internal(set) var queryClock = LamportClock()
    /// What was dropped and why.
    public internal(set) var counters = SerfCounters()
    /// The local node's tags.
    public internal(set) var tags: [String: String]

    var records: [String: MemberRecord] = [:]
    var recentIntents: [String: RecentIntent] = [:]
    /// serf serf.go `eventBuffer`: slot `LTime % size`, nil until used.
    var eventBuffer: [UserEventCollection?]
    var queryBuffer: [SeenQueries?]
    var eventMinTime = LamportTime(0)
    var queryMinTime = LamportTime(0)
    /// Queries delivered to the application and not yet answered, with their deadlines.
    var answerableQueries: [QueryKey: (query: IncomingQuery, deadline: Instant)] = [:]
    /// Queries this node sent, by LTime (serf serf.go `queryResponse`: one query per query-clock tick).
    var outgoingQueries: [LamportTime: OutgoingQuery] = [:]
    var nextReconnect: Instant?

    /// A Serf layer for `configuration`, which must pass `validate()`. The local node is a member from
    /// the start, as memberlist's `NotifyJoin` for itself makes it in serf.
    public init(configuration: SerfConfiguration) throws(SerfError) {
        try configuration.validate()
        self.configuration = configuration
        self.tags = configuration.tags
        eventBuffer = Array(repeating: nil, count: configuration.eventBufferSize)
        queryBuffer = Array(repeating: nil, count: configuration.queryBufferSize)
        let local = SerfMember(
            name: configuration.nodeName,
            address: configuration.address,
            tags: configuration.tags,
            status: .alive,
            versions: configuration.versions
        )
        records[configuration.nodeName] = MemberRecord(member: local, statusLTime: LamportTime(0))
    }

    /// All known members, the local node included, by name.
    public var members: [SerfMember] {
        records.values.map(\.member).sorted { $0.name < $1.name }
    }

    public func member(named name: String) -> SerfMember? { records[name]?.member }

    /// The Lamport time of the last intent applied to `name` (serf `memberState.statusLTime`).
    public func statusLTime(of name: String) -> LamportTime? { records[name]?.statusLTime }

    /// memberlist `Delegate.NodeMeta`: the tags as `0xFF ‖ msgpack` (serf delegate.go `NodeMeta`).
    /// `setTags` and `init` guarantee it fits 512 bytes.
    public var nodeMeta: [UInt8] { (try? Tags.encode(tags)) ?? [Tags.magicByte, 0x80] }

    /// Replaces the local tags (serf serf.go `SetTags`). The shell must then gossip a new memberlist
    /// `alive` with incarnation + 1 carrying `nodeMeta`.
    public mutating func setTags(_ newTags: [String: String]) throws(SerfError) {
        do throws(WireError) {
            _ = try Tags.encode(newTags)
        } catch {
            throw SerfError(.tagsTooLarge, error.detail)
        }
        tags = newTags
        records[configuration.nodeName]?.member.tags = newTags
    }

    /// Handles a memberlist user message body, `[serf type][msgpack]`, received by gossip or direct UDP
    /// (serf delegate.go `NotifyMsg`). Rebroadcasts re-queue the bytes exactly as received.
    public mutating func onUserMessage(_ payload: [UInt8], now: Instant) -> [SerfDirective] {
        guard !payload.isEmpty else {
            counters.malformedMessages += 1
            return []
        }
        let message: SerfMessage
        do {
            message = try SerfMessage(payload)
        } catch {
            counters.malformedMessages += 1
            return []
        }
        var directives: [SerfDirective] = []
        switch message {
        case .leave(let intent):
            if handleLeaveIntent(intent, now: now, into: &directives) {
                directives.append(.broadcast(payload, queue: .intents))
            }
        case .join(let intent):
            if handleJoinIntent(intent, now: now) {
                directives.append(.broadcast(payload, queue: .intents))
            }
        case .userEvent(let event):
            if handleUserEvent(event, into: &directives) {
                directives.append(.broadcast(payload, queue: .events))
            }
        case .query(let query):
            if handleQuery(query, now: now, into: &directives) {
                directives.append(.broadcast(payload, queue: .queries))
            }
        case .queryResponse(let response):
            handleQueryResponse(response, now: now, into: &directives)
        case .relay(let header, let inner):
            // serf delegate.go `NotifyMsg` forwards the inner bytes unchecked to DestAddr.
            guard let port = UInt16(exactly: header.destPort) else {
                counters.malformedMessages += 1
                return []
            }
            directives.append(.sendUserMessage(inner, to: SerfMemberAddress(ip: header.destIP, port: port)))
        case .pushPull, .conflictResponse, .keyRequest, .keyResponse:
            counters.unexpectedMessages += 1
        }
        return directives
    }
}
