public import LeveePolicy

/// SWIM with Lifeguard as a value: memberlist v0.2.2's protocol state machine without I/O, clock or
/// randomness of its own.
///
/// Every event takes `now` (and a random number generator where it must choose) and returns
/// `MembershipDirective`s for a shell to carry out: datagrams and streams to send, events for the
/// layer above, and the instant at which to call `onTick` again. Call `onTick` once right after
/// creating the instance: it staggers the probe, gossip and push/pull loops and reports our own join.
///
/// Rules follow memberlist state.go (probe loop, `aliveNode`, `suspectNode`, `deadNode`,
/// `mergeState`), suspicion.go, awareness.go and queue.go, as summarised in the wire reference §3.
public struct MembershipInstance: Sendable {
    public let settings: MembershipSettings
    public let localName: String
    public let localAddress: NodeAddress

    /// Every known node by name, ourselves included, Dead and Left ones until reaped.
    var nodes: [String: Member] = [:]
    /// memberlist's `m.nodes`: a shuffled list of names for the round-robin probe; the order of all
    /// iteration, so that a seeded run repeats exactly.
    var order: [String] = []
    var probeIndex = 0
    var awareness: Awareness
    var suspicions: [String: Suspicion] = [:]
    /// memberlist's own broadcasts, named after the node they are about.
    var broadcasts = BroadcastQueue<Message>()
    /// The layer above's broadcasts, unique.
    var userBroadcasts = BroadcastQueue<[UInt8]>()
    var sequenceNumber: UInt32 = 0
    var probe: Probe?
    var relays: [UInt32: IndirectRelay] = [:]
    var started = false
    var nextProbe = Instant.distantFuture
    var nextGossip = Instant.distantFuture
    var nextPushPull = Instant.distantFuture
    var nextExchangeID: UInt64 = 0
    /// Join exchanges not yet answered, by id, with their deadline.
    var pendingJoin: [UInt64: Instant] = [:]
    var joinTally: JoinResult?
    var leaveDeadline: Instant?
    var outbox: [MembershipDirective] = []

    /// The ack payload for pings we answer (Serf puts its coordinate here); nil by default.
    public var ackPayload: [UInt8]?
    public internal(set) var counters = MembershipCounters()
    /// True once `leave` has completed; the instance then ignores all input.
    public internal(set) var hasLeft = false

    /// A member named `localName` at `address`, alive at incarnation 1 (memberlist `setAlive`).
    public init(
        settings: MembershipSettings = .lan,
        localName: String,
        address: NodeAddress,
        meta: [UInt8] = [],
        versions: ProtocolVersions = .serfAgent,
        now: Instant
    ) throws(ConfigurationError) {
        try settings.validate()
        try Self.checkMeta(meta)
        self.settings = settings
        self.localName = localName
        self.localAddress = address
        self.awareness = Awareness(maxMultiplier: settings.awarenessMaxMultiplier)
        let me = Member(
            name: localName,
            address: address,
            meta: meta,
            incarnation: 1,
            state: .alive,
            versions: versions,
            stateChange: now
        )
        nodes[localName] = me
        order = [localName]
        // memberlist setAlive → aliveNode(bootstrap): our own alive is the first broadcast.
        queueBroadcast(.alive(me.alive), about: localName)
    }

    static func checkMeta(_ meta: [UInt8]) throws(ConfigurationError) {
        guard meta.count <= Alive.maxMetaBytes else {
            throw ConfigurationError(keyPath: "meta", value: "\(meta.count) bytes", expected: "at most 512 bytes")
        }
    }

    // MARK: Observable state

    /// Every known member, ourselves included, sorted by name.
    public var members: [Member] { nodes.values.sorted { $0.name < $1.name } }

    public func member(named name: String) -> Member? { nodes[name] }

    /// Ourselves.
    public var localMember: Member { nodes[localName]! }

    public var incarnation: Incarnation { localMember.incarnation }

    /// Lifeguard's local health score, 0 (healthy) to `awarenessMaxMultiplier − 1`.
    public var healthScore: Int { awareness.score }

    /// Known nodes, Dead and Left included until reaped (memberlist `estNumNodes`).
    public var nodeCount: Int { nodes.count }

    /// Nodes neither Dead nor Left, ourselves included (memberlist `NumMembers`).
    public var liveCount: Int { nodes.values.count { !$0.isDeadOrLeft } }

    /// The running suspicion timer of `name`, if it is suspected.
    public func suspicion(of name: String) -> Suspicion? { suspicions[name] }

    /// Broadcasts still waiting to be gossiped: memberlist's own, then the user ones.
    public var queuedBroadcasts: (memberlist: Int, user: Int) { (broadcasts.count, userBroadcasts.count) }

    /// True between `leave` and its completion.
    public var isLeaving: Bool { leaveDeadline != nil }

    /// The earliest instant at which the instance has something to do.
    public var nextDeadline: Instant {
        guard !hasLeft else { return .distantFuture }
        guard started else { return .zero }
        var earliest = min(nextGossip, nextPushPull)
        if let probe {
            earliest = min(earliest, probe.indirectSent ? probe.deadline : probe.ackTimeout)
        } else if leaveDeadline == nil {
            earliest = min(earliest, nextProbe)
        }
        for suspicion in suspicions.values { earliest = min(earliest, suspicion.deadline) }
        for relay in relays.values { earliest = min(earliest, relay.deadline) }
        for deadline in pendingJoin.values { earliest = min(earliest, deadline) }
        if let leaveDeadline { earliest = min(earliest, leaveDeadline) }
        return earliest
    }

    // MARK: Timers

    /// Runs every timer that is due: suspicion expiries, the probe loop, relayed pings, gossip,
    /// periodic push/pull, join and leave deadlines.
    public mutating func onTick(now: Instant, using rng: inout some RandomNumberGenerator) -> [MembershipDirective] {
        guard !hasLeft else { return [] }
        if !started { start(now: now, using: &rng) }
        expireSuspicions(now: now)
        expireRelays(now: now)
        advanceProbe(now: now, using: &rng)
        if now >= nextGossip {
            gossip(now: now, using: &rng)
            nextGossip = Self.next(after: nextGossip, every: settings.gossipInterval, now: now)
        }
        if now >= nextPushPull {
            periodicPushPull(now: now, using: &rng)
            let interval = Self.pushPullScale(settings.pushPullInterval, nodeCount: nodeCount)
            nextPushPull = now + interval
        }
        expireJoin(now: now)
        return drain(now: now)
    }

    /// memberlist schedule: each loop starts after a random stagger within its interval.
    private mutating func start(now: Instant, using rng: inout some RandomNumberGenerator) {
        started = true
        nextProbe = now + Self.stagger(settings.probeInterval, using: &rng)
        nextGossip = now + Self.stagger(settings.gossipInterval, using: &rng)
        if settings.pushPullInterval > .zero {
            nextPushPull =
                now + Self.stagger(settings.pushPullInterval, using: &rng)
                + Self.pushPullScale(settings.pushPullInterval, nodeCount: nodeCount)
        }
        // memberlist fires NotifyJoin for the local node too; Serf relies on it to list itself.
        outbox.append(.memberEvent(.joined(localMember)))
    }

    static func stagger(_ interval: Duration, using rng: inout some RandomNumberGenerator) -> Duration {
        let nanoseconds = interval.nanoseconds
        guard nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0..<nanoseconds, using: &rng))
    }

    /// A Go ticker drops ticks it could not deliver: the next one is the first period boundary
    /// after `now`.
    static func next(after previous: Instant, every interval: Duration, now: Instant) -> Instant {
        var next = previous + interval
        while next <= now { next += interval }
        return next
    }

    /// `interval × (ceil(log2(n) − log2(32)) + 1)` above 32 nodes (memberlist util.go
    /// `pushPullScale`), so that push/pull traffic grows slower than the pool.
    public static func pushPullScale(_ interval: Duration, nodeCount: Int) -> Duration {
        guard nodeCount > 32 else { return interval }
        var multiplier = 1
        var covered = 32
        while covered < nodeCount {
            covered *= 2
            multiplier += 1
        }
        return interval * multiplier
    }

    /// Ends every event: checks the leave, then appends when to tick next.
    mutating func drain(now: Instant) -> [MembershipDirective] {
        checkLeave(now: now)
        var directives = outbox
        outbox = []
        if !hasLeft { directives.append(.scheduleTick(at: nextDeadline)) }
        return directives
    }

    mutating func nextSequenceNumber() -> UInt32 {
        sequenceNumber &+= 1
        return sequenceNumber
    }

    /// memberlist `kRandomNodes`: up to `count` distinct random members that pass `include`.
    func randomMembers(
        _ count: Int,
        using rng: inout some RandomNumberGenerator,
        where include: (Member) -> Bool
    ) -> [Member] {
        var candidates = order.compactMap { nodes[$0] }.filter { $0.name != localName && include($0) }
        candidates.shuffle(using: &rng)
        return Array(candidates.prefix(count))
    }
}
