/// The Serf layer's settings; every default is `serf agent`'s (serf config.go `DefaultConfig`,
/// memberlist-serf-wire.md §4).
public struct SerfConfiguration: Hashable, Sendable {
    /// The hard cap on a user event's name + payload, and on its encoding (serf serf.go
    /// `UserEventSizeLimit` = 9 KiB).
    public static let userEventHardLimit = 9 * 1024

    /// The local node's name, unique in the pool.
    public var nodeName: String
    /// Where the local memberlist listens; queries we send name it as the reply address.
    public var address: SerfMemberAddress
    /// The local node's tags, gossiped as memberlist `Meta`.
    public var tags: [String: String]
    /// The versions the local member reports (in `_serf_conflict` answers about itself).
    public var versions: ProtocolVersions
    /// Most bytes of `name + payload` in a user event, and of its encoding (serf config.go
    /// `UserEventSizeLimit`; the agent's default is 512).
    public var userEventSizeLimit: Int
    /// Most bytes of an encoded query (serf config.go `QuerySizeLimit`).
    public var querySizeLimit: Int
    /// Most bytes of an encoded query response (serf config.go `QueryResponseSizeLimit`).
    public var queryResponseSizeLimit: Int
    /// Most bytes a Serf message may take inside a gossip packet, its `[8]` user-message byte included:
    /// memberlist's 1400-byte UDP budget minus the 2-byte compound overhead (memberlist state.go
    /// `gossip`). Subtract 29 more when gossip is encrypted.
    public var maxBroadcastBytes: Int
    /// Slots in the user-event dedupe ring (serf config.go `EventBuffer`).
    public var eventBufferSize: Int
    /// Slots in the query dedupe ring (serf config.go `QueryBuffer`).
    public var queryBufferSize: Int
    /// How long an intent about an unknown member is remembered (serf config.go `RecentIntentTimeout`).
    public var recentIntentTimeout: Duration
    /// How often a failed member may be retried (serf config.go `ReconnectInterval`).
    public var reconnectInterval: Duration
    /// How long a failed member is kept before it is reaped (serf config.go `ReconnectTimeout`).
    public var reconnectTimeout: Duration
    /// How long a left member is kept as a tombstone (serf config.go `TombstoneTimeout`).
    public var tombstoneTimeout: Duration
    /// memberlist's `GossipInterval`, the unit of the default query timeout.
    public var gossipInterval: Duration
    /// serf config.go `QueryTimeoutMult`.
    public var queryTimeoutMultiplier: Int
    /// Ignore user events older than the pool's event clock when the push/pull that joins us arrives
    /// (serf `Join(…, ignoreOld: true)`, `serf agent -replay=false` is the agent's default).
    public var ignoreEventsBeforeJoin: Bool

    public init(
        nodeName: String,
        address: SerfMemberAddress,
        tags: [String: String] = [:],
        versions: ProtocolVersions = .serfAgent,
        userEventSizeLimit: Int = 512,
        querySizeLimit: Int = 1024,
        queryResponseSizeLimit: Int = 1024,
        maxBroadcastBytes: Int = 1398,
        eventBufferSize: Int = 512,
        queryBufferSize: Int = 512,
        recentIntentTimeout: Duration = .seconds(5 * 60),
        reconnectInterval: Duration = .seconds(30),
        reconnectTimeout: Duration = .seconds(24 * 3600),
        tombstoneTimeout: Duration = .seconds(24 * 3600),
        gossipInterval: Duration = .milliseconds(200),
        queryTimeoutMultiplier: Int = 16,
        ignoreEventsBeforeJoin: Bool = true
    ) {
        self.nodeName = nodeName
        self.address = address
        self.tags = tags
        self.versions = versions
        self.userEventSizeLimit = userEventSizeLimit
        self.querySizeLimit = querySizeLimit
        self.queryResponseSizeLimit = queryResponseSizeLimit
        self.maxBroadcastBytes = maxBroadcastBytes
        self.eventBufferSize = eventBufferSize
        self.queryBufferSize = queryBufferSize
        self.recentIntentTimeout = recentIntentTimeout
        self.reconnectInterval = reconnectInterval
        self.reconnectTimeout = reconnectTimeout
        self.tombstoneTimeout = tombstoneTimeout
        self.gossipInterval = gossipInterval
        self.queryTimeoutMultiplier = queryTimeoutMultiplier
        self.ignoreEventsBeforeJoin = ignoreEventsBeforeJoin
    }

    /// Says which setting is out of its domain.
    public func validate() throws(SerfError) {
        func require(_ condition: Bool, _ detail: String) throws(SerfError) {
            if !condition { throw SerfError(.invalidConfiguration, detail) }
        }
        try require(!nodeName.isEmpty, "nodeName is empty")
        try require(
            (1...Self.userEventHardLimit).contains(userEventSizeLimit),
            "userEventSizeLimit \(userEventSizeLimit) is outside 1...\(Self.userEventHardLimit)"
        )
        try require(querySizeLimit > 0, "querySizeLimit must be positive")
        try require(queryResponseSizeLimit > 0, "queryResponseSizeLimit must be positive")
        try require(maxBroadcastBytes > 0, "maxBroadcastBytes must be positive")
        try require(eventBufferSize > 0, "eventBufferSize must be positive")
        try require(queryBufferSize > 0, "queryBufferSize must be positive")
        try require(queryTimeoutMultiplier > 0, "queryTimeoutMultiplier must be positive")
        try require(gossipInterval > .zero, "gossipInterval must be positive")
        try require(reconnectInterval > .zero, "reconnectInterval must be positive")
        do throws(WireError) {
            _ = try Tags.encode(tags)
        } catch {
            throw SerfError(.tagsTooLarge, error.detail)
        }
    }
}
