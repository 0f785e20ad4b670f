public import LeveePolicy

/// The knobs of the SWIM/Lifeguard failure detector and of gossip, with memberlist's three profiles
/// (memberlist config.go `DefaultLANConfig`, `DefaultWANConfig`, `DefaultLocalConfig`; serf agent
/// `-profile=lan|wan|local`). `lan` is the default, as in serf.
public struct MembershipSettings: Hashable, Sendable {
    /// How often one member is probed (config.go `ProbeInterval`; LAN 1 s). Lifeguard stretches the
    /// wait for a failing probe by `healthScore + 1`.
    public var probeInterval: Duration
    /// How long to wait for a direct ack before asking others to probe (config.go `ProbeTimeout`;
    /// LAN 500 ms). Not scaled by the health score: waiting longer does not get UDP through.
    public var probeTimeout: Duration
    /// How many members are asked to probe indirectly when a direct probe fails (config.go
    /// `IndirectChecks`; LAN 3).
    public var indirectChecks: Int
    /// Scales the minimum suspicion timeout: `suspicionMult × max(1, log10(n)) × probeInterval`
    /// (config.go `SuspicionMult`; LAN 4). `suspicionMult − 2` confirmations are expected.
    public var suspicionMult: Int
    /// The maximum suspicion timeout as a multiple of the minimum (config.go
    /// `SuspicionMaxTimeoutMult`; 6). Lifeguard §3.2: a lone suspicion waits this long.
    public var suspicionMaxTimeoutMult: Int
    /// A broadcast is sent `retransmitMult × ceil(log10(n + 1))` times (config.go `RetransmitMult`;
    /// LAN 4).
    public var retransmitMult: Int
    /// How often queued broadcasts are gossiped (config.go `GossipInterval`; LAN 200 ms).
    public var gossipInterval: Duration
    /// To how many random members each gossip round goes (config.go `GossipNodes`; LAN 3).
    public var gossipNodes: Int
    /// How long a Dead or Left node is still gossiped to, and kept before being reaped (config.go
    /// `GossipToTheDeadTime`; LAN 30 s).
    public var gossipToTheDeadTime: Duration
    /// The base interval of the anti-entropy push/pull with one random member, scaled up above 32
    /// nodes (config.go `PushPullInterval`; LAN 30 s). Zero turns periodic push/pull off.
    public var pushPullInterval: Duration
    /// The deadline of a TCP exchange: push/pull, the fallback ping (config.go `TCPTimeout`;
    /// LAN 10 s).
    public var tcpTimeout: Duration
    /// The health score ranges over `0..<awarenessMaxMultiplier` (config.go
    /// `AwarenessMaxMultiplier`; 8). 1 turns Lifeguard's local health off.
    public var awarenessMaxMultiplier: Int
    /// The byte budget of one gossip datagram (config.go `UDPBufferSize`; 1400).
    public var udpBufferSize: Int
    /// Whether datagrams are encrypted; each then costs 29 more bytes of the budget (security.go
    /// `encryptOverhead` for version 1). The shell does the encryption.
    public var encryptionEnabled: Bool
    /// Whether the shell LZW-compresses what it sends (config.go `EnableCompression`; true). The
    /// instance does not compress; it is here so that the shell reads one settings value.
    public var enableCompression: Bool
    /// Turns off the TCP fallback ping (config.go `DisableTcpPings`; false).
    public var disableTCPPings: Bool
    /// How long `leave` waits for its `dead` message to be gossiped before reporting anyway (serf
    /// config.go `BroadcastTimeout`, 5 s, which serf passes to memberlist `Leave`).
    public var leaveTimeout: Duration
    /// How many user broadcasts may wait; beyond it the most transmitted are dropped (serf config.go
    /// `MaxQueueDepth`, 4096).
    public var maxUserBroadcasts: Int

    public init(
        probeInterval: Duration = .seconds(1),
        probeTimeout: Duration = .milliseconds(500),
        indirectChecks: Int = 3,
        suspicionMult: Int = 4,
        suspicionMaxTimeoutMult: Int = 6,
        retransmitMult: Int = 4,
        gossipInterval: Duration = .milliseconds(200),
        gossipNodes: Int = 3,
        gossipToTheDeadTime: Duration = .seconds(30),
        pushPullInterval: Duration = .seconds(30),
        tcpTimeout: Duration = .seconds(10),
        awarenessMaxMultiplier: Int = 8,
        udpBufferSize: Int = 1400,
        encryptionEnabled: Bool = false,
        enableCompression: Bool = true,
        disableTCPPings: Bool = false,
        leaveTimeout: Duration = .seconds(5),
        maxUserBroadcasts: Int = 4096
    ) {
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
        self.indirectChecks = indirectChecks
        self.suspicionMult = suspicionMult
        self.suspicionMaxTimeoutMult = suspicionMaxTimeoutMult
        self.retransmitMult = retransmitMult
        self.gossipInterval = gossipInterval
        self.gossipNodes = gossipNodes
        self.gossipToTheDeadTime = gossipToTheDeadTime
        self.pushPullInterval = pushPullInterval
        self.tcpTimeout = tcpTimeout
        self.awarenessMaxMultiplier = awarenessMaxMultiplier
        self.udpBufferSize = udpBufferSize
        self.encryptionEnabled = encryptionEnabled
        self.enableCompression = enableCompression
        self.disableTCPPings = disableTCPPings
        self.leaveTimeout = leaveTimeout
        self.maxUserBroadcasts = maxUserBroadcasts
    }

    /// memberlist `DefaultLANConfig`: serf's default profile.
    public static let lan = MembershipSettings()

    /// memberlist `DefaultWANConfig`: slower probes, more patience.
    public static let wan = MembershipSettings(
        probeInterval: .seconds(5),
        probeTimeout: .seconds(3),
        suspicionMult: 6,
        gossipInterval: .milliseconds(500),
        gossipNodes: 4,
        gossipToTheDeadTime: .seconds(60),
        pushPullInterval: .seconds(60),
        tcpTimeout: .seconds(30)
    )

    /// memberlist `DefaultLocalConfig`: loopback or a single host.
    public static let local = MembershipSettings(
        probeInterval: .seconds(1),
        probeTimeout: .milliseconds(200),
        indirectChecks: 1,
        suspicionMult: 3,
        retransmitMult: 2,
        gossipInterval: .milliseconds(100),
        gossipToTheDeadTime: .seconds(15),
        pushPullInterval: .seconds(15),
        tcpTimeout: .seconds(1)
    )

    /// Bytes that each datagram loses to encryption (security.go: version byte, nonce and GCM tag).
    var encryptionOverhead: Int { encryptionEnabled ? 29 : 0 }

    /// Throws the first knob that the failure detector cannot work with, named in snake case as a
    /// configuration file would spell it.
    public func validate() throws(ConfigurationError) {
        try Self.require(probeInterval > .zero, "probe_interval", "\(probeInterval)", "a duration > 0")
        try Self.require(
            probeTimeout > .zero && probeTimeout <= probeInterval,
            "probe_timeout",
            "\(probeTimeout)",
            "a duration > 0 and at most probe_interval (\(probeInterval))"
        )
        try Self.require(indirectChecks >= 0, "indirect_checks", "\(indirectChecks)", "an integer ≥ 0")
        try Self.require(suspicionMult >= 1, "suspicion_mult", "\(suspicionMult)", "an integer ≥ 1")
        try Self.require(
            suspicionMaxTimeoutMult >= 1,
            "suspicion_max_timeout_mult",
            "\(suspicionMaxTimeoutMult)",
            "an integer ≥ 1"
        )
        try Self.require(retransmitMult >= 1, "retransmit_mult", "\(retransmitMult)", "an integer ≥ 1")
        try Self.require(gossipInterval > .zero, "gossip_interval", "\(gossipInterval)", "a duration > 0")
        try Self.require(gossipNodes >= 1, "gossip_nodes", "\(gossipNodes)", "an integer ≥ 1")
        try Self.require(
            gossipToTheDeadTime >= .zero,
            "gossip_to_the_dead_time",
            "\(gossipToTheDeadTime)",
            "a duration ≥ 0"
        )
        try Self.require(pushPullInterval >= .zero, "push_pull_interval", "\(pushPullInterval)", "a duration ≥ 0")
        try Self.require(tcpTimeout > .zero, "tcp_timeout", "\(tcpTimeout)", "a duration > 0")
        try Self.require(
            (1...64).contains(awarenessMaxMultiplier),
            "awareness_max_multiplier",
            "\(awarenessMaxMultiplier)",
            "an integer between 1 and 64"
        )
        try Self.require(
            udpBufferSize >= 512 && udpBufferSize <= 65_507,
            "udp_buffer_size",
            "\(udpBufferSize)",
            "an integer between 512 and 65507"
        )
        try Self.require(leaveTimeout >= .zero, "leave_timeout", "\(leaveTimeout)", "a duration ≥ 0")
        try Self.require(maxUserBroadcasts >= 1, "max_user_broadcasts", "\(maxUserBroadcasts)", "an integer ≥ 1")
    }

    private static func require(
        _ condition: Bool,
        _ keyPath: String,
        _ value: String,
        _ expected: String
    ) throws(ConfigurationError) {
        if !condition { throw ConfigurationError(keyPath: keyPath, value: value, expected: expected) }
    }
}
