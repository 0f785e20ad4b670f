public import LeveeGossip

/// A member of the pool as this node sees it: what `serf members` shows.
public struct GossipMember: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// Where its memberlist listens (UDP and TCP).
    public var address: SerfMemberAddress
    /// alive, leaving, left or failed (serf `MemberStatus`).
    public var status: SerfMemberStatus
    public var tags: [String: String]
    /// Its memberlist protocol and Serf delegate version ranges.
    public var versions: ProtocolVersions

    public init(_ member: SerfMember) {
        name = member.name
        address = member.address
        status = member.status
        tags = member.tags
        versions = member.versions
    }

    public var description: String { "\(name)@\(address) \(status)" }
}

/// One member's response to a query this node sent (`GossipNode.query`).
public struct GossipQueryAnswer: Hashable, Sendable {
    public var from: String
    public var payload: [UInt8]

    public init(from: String, payload: [UInt8]) {
        self.from = from
        self.payload = payload
    }
}

/// A query from the pool, delivered on `GossipNode.events`; answer it with `GossipNode.respond`.
public struct GossipQuery: Hashable, Sendable {
    public var name: String
    public var payload: [UInt8]?
    /// The node that asked.
    public var sourceNode: String
    let incoming: IncomingQuery

    init(_ incoming: IncomingQuery) {
        self.incoming = incoming
        name = incoming.name
        payload = incoming.payload
        sourceNode = incoming.sourceNode
    }
}

/// What happened in the pool (serf `EventCh`: member events, user events, queries).
public enum GossipEvent: Hashable, Sendable {
    /// A member became alive: it joined, or came back after failing or leaving.
    case memberJoined(GossipMember)
    /// A member's address, tags or versions changed.
    case memberUpdated(GossipMember)
    /// A member announced it is leaving (serf does not report this; its leave follows).
    case memberLeaving(GossipMember)
    /// A member left gracefully.
    case memberLeft(GossipMember)
    /// A member was declared dead by the failure detector.
    case memberFailed(GossipMember)
    /// A failed or left member was forgotten.
    case memberReaped(GossipMember)
    /// A user event (serf `UserEvent`), ours included.
    case userEvent(name: String, payload: [UInt8], coalesce: Bool)
    /// A query to answer with `GossipNode.respond(to:payload:)` before its deadline.
    case query(GossipQuery)
}

/// What a node has sent, received and dropped, layer by layer.
public struct GossipNodeCounters: Hashable, Sendable {
    /// Datagrams and streams, and what the codec dropped.
    public var transport = TransportCounters()
    /// The failure detector: probes, suspicions, refutations, malformed or stale messages.
    public var membership = MembershipCounters()
    /// The Serf layer: malformed, stale, duplicate or filtered messages.
    public var serf = SerfCounters()
    /// Datagrams that could not be sent (bad destination address, socket error).
    public var sendFailures = 0
    /// Push/pull and fallback-ping exchanges that failed (connect, timeout, decrypt, `err` reply).
    public var exchangeFailures = 0
    /// Datagrams whose source was not an IP address, and Serf replies to addresses that are not.
    public var invalidAddresses = 0
    /// Inbound streams that opened with an ack or an error instead of a push/pull, ping or user
    /// message.
    public var unexpectedStreams = 0
    /// Other nodes that claimed the name of a live member from another address.
    public var nameConflicts = 0

    public init() {}
}
