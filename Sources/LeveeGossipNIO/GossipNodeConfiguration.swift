public import LeveeGossip
public import LeveePolicy
import NIOCore

/// Everything one pool member needs: who it is, where it listens, whom it joins, how it protects
/// and times its traffic, and its tags.
///
/// The defaults are `serf agent`'s: LAN timing, no encryption, no tags. `validate()` names the key
/// the way the configuration file spells it (`gossip.bind`, `gossip.encrypt_key`, …).
public struct GossipNodeConfiguration: Sendable {
    /// The memberlist timing profile (serf agent `-profile`; memberlist config.go `DefaultLANConfig`,
    /// `DefaultWANConfig`, `DefaultLocalConfig`).
    public enum Profile: String, Hashable, Sendable, CaseIterable {
        case lan
        case wan
        case local

        /// The failure detector and gossip settings of this profile.
        public var membershipSettings: MembershipSettings {
            switch self {
            case .lan: .lan
            case .wan: .wan
            case .local: .local
            }
        }
    }

    /// How often, and how patiently, the seeds of `join` are retried when the node starts (serf
    /// agent `-retry-join`, `-retry-interval`, `-retry-max`).
    public struct JoinRetry: Hashable, Sendable {
        /// Attempts in all, the first included; at least 1.
        public var maxAttempts: Int
        /// The wait after the first failed attempt; it doubles after each further failure.
        public var initialBackoff: Duration
        /// The longest wait between attempts.
        public var maxBackoff: Duration

        public init(maxAttempts: Int = 5, initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(30)) {
            self.maxAttempts = maxAttempts
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
        }
    }

    /// The Serf layer's limits and timeouts that an operator may want to change; the rest are
    /// `SerfConfiguration`'s defaults.
    public struct Serf: Hashable, Sendable {
        /// Most bytes of `name + payload` in a user event (serf `UserEventSizeLimit`; agent 512).
        public var userEventSizeLimit: Int
        /// How long a failed member is kept and retried (serf `ReconnectTimeout`, 24 h).
        public var reconnectTimeout: Duration
        /// How long a left member is kept as a tombstone (serf `TombstoneTimeout`, 24 h).
        public var tombstoneTimeout: Duration
        /// How long `leave` waits for the leave intent to be gossiped (serf `BroadcastTimeout`, 5 s).
        public var broadcastTimeout: Duration
        /// How long the node keeps its sockets open after its `dead` went out, so that the news
        /// spreads (serf `LeavePropagateDelay`, 1 s).
        public var leavePropagateDelay: Duration

        public init(
            userEventSizeLimit: Int = 512,
            reconnectTimeout: Duration = .seconds(24 * 3600),
            tombstoneTimeout: Duration = .seconds(24 * 3600),
            broadcastTimeout: Duration = .seconds(5),
            leavePropagateDelay: Duration = .seconds(1)
        ) {
            self.userEventSizeLimit = userEventSizeLimit
            self.reconnectTimeout = reconnectTimeout
            self.tombstoneTimeout = tombstoneTimeout
            self.broadcastTimeout = broadcastTimeout
            self.leavePropagateDelay = leavePropagateDelay
        }
    }

    /// The node's name, unique in the pool (serf `-node`).
    public var name: String
    /// The IP address both sockets bind to (serf `-bind`).
    public var bindHost: String
    /// The UDP and TCP port; 0 picks a free one (serf's default is 7946).
    public var bindPort: Int
    /// The address other members should use, when it differs from the bound one (serf
    /// `-advertise`); required when binding a wildcard address.
    public var advertiseHost: String?
    /// The advertised port; the bound port when nil.
    public var advertisePort: Int?
    /// Members to join at start, as `host:port` (serf `-join`, `-retry-join`).
    public var join: [String]
    public var joinRetry: JoinRetry
    /// The pool's key, standard base64 of 16, 24 or 32 bytes, as `serf -encrypt` takes it; nil
    /// leaves traffic in the clear.
    public var encryptKey: String?
    public var profile: Profile
    /// The node's tags, gossiped as memberlist `Meta` (serf `-tag`).
    public var tags: [String: String]
    public var serf: Serf
    /// The seed of the node's random choices (probe order, gossip targets, staggers); nil seeds from
    /// the system generator. Tests fix it to repeat a run.
    public var randomSeed: UInt64?
    /// Leave the pool gracefully when the process is asked to stop (SIGTERM/SIGINT through the
    /// `ServiceGroup`), so peers see `left` instead of a failure (`leave_on_terminate`, default true).
    /// A cancelled node, or a killed process, just stops.
    public var leaveOnShutdown: Bool = true

    public init(
        name: String,
        bindHost: String = "0.0.0.0",
        bindPort: Int = 7946,
        advertiseHost: String? = nil,
        advertisePort: Int? = nil,
        join: [String] = [],
        joinRetry: JoinRetry = JoinRetry(),
        encryptKey: String? = nil,
        profile: Profile = .lan,
        tags: [String: String] = [:],
        serf: Serf = Serf(),
        randomSeed: UInt64? = nil
    ) {
        self.name = name
        self.bindHost = bindHost
        self.bindPort = bindPort
        self.advertiseHost = advertiseHost
        self.advertisePort = advertisePort
        self.join = join
        self.joinRetry = joinRetry
        self.encryptKey = encryptKey
        self.profile = profile
        self.tags = tags
        self.serf = serf
        self.randomSeed = randomSeed
    }

    /// The membership settings: the profile's, with encryption accounted for in the packet budget.
    public var membershipSettings: MembershipSettings {
        var settings = profile.membershipSettings
        settings.encryptionEnabled = encryptKey != nil
        return settings
    }

    /// The keyring of `encryptKey`, nil without one; throws what is wrong with the key.
    public func keyring() throws(ConfigurationError) -> Keyring? {
        guard let encryptKey else { return nil }
        do {
            return try Keyring(serfEncryptKey: encryptKey)
        } catch {
            throw ConfigurationError(
                keyPath: "gossip.encrypt_key",
                value: "\(encryptKey.count) characters",
                expected: "standard base64 of a 16, 24 or 32-byte key, as `serf keygen` prints (\(error.detail))"
            )
        }
    }

    /// Throws the first setting the node cannot run with, naming its key.
    public func validate() throws(ConfigurationError) {
        try Self.require(
            !name.isEmpty && name.utf8.count <= 128,
            "gossip.name",
            "\"\(name)\"",
            "a non-empty name of at most 128 bytes, unique in the pool"
        )
        try Self.require(
            (try? SocketAddress(ipAddress: bindHost, port: 0)) != nil,
            "gossip.bind",
            bindHost,
            "an IPv4 or IPv6 address"
        )
        try Self.require((0...65_535).contains(bindPort), "gossip.port", "\(bindPort)", "a port in 0...65535")
        if let advertiseHost {
            try Self.require(
                (try? SocketAddress(ipAddress: advertiseHost, port: 0)) != nil && !Self.isWildcard(advertiseHost),
                "gossip.advertise",
                advertiseHost,
                "a specific IPv4 or IPv6 address"
            )
        } else {
            try Self.require(
                !Self.isWildcard(bindHost),
                "gossip.advertise",
                "nil",
                "an address to advertise when gossip.bind is the wildcard \(bindHost)"
            )
        }
        if let advertisePort {
            try Self.require(
                (1...65_535).contains(advertisePort),
                "gossip.advertise_port",
                "\(advertisePort)",
                "a port in 1...65535"
            )
        }
        for (index, seed) in join.enumerated() {
            try Self.require(
                (try? GossipSeed(seed)) != nil,
                "gossip.join[\(index)]",
                "\"\(seed)\"",
                "host:port with an IP address or a host name, and a port in 1...65535"
            )
        }
        try Self.require(
            joinRetry.maxAttempts >= 1,
            "gossip.join_retry.max_attempts",
            "\(joinRetry.maxAttempts)",
            "an integer ≥ 1"
        )
        try Self.require(
            joinRetry.initialBackoff > .zero && joinRetry.initialBackoff <= joinRetry.maxBackoff,
            "gossip.join_retry.initial_backoff",
            joinRetry.initialBackoff.configDescription,
            "a duration > 0 and at most gossip.join_retry.max_backoff (\(joinRetry.maxBackoff.configDescription))"
        )
        _ = try keyring()
        do {
            _ = try Tags.encode(tags)
        } catch {
            throw ConfigurationError(keyPath: "gossip.tags", value: "\(tags.count) tags", expected: error.detail)
        }
        try ConfigurationError.within("gossip") { () throws(ConfigurationError) in
            try membershipSettings.validate()
        }
        try Self.require(
            (1...SerfConfiguration.userEventHardLimit).contains(serf.userEventSizeLimit),
            "gossip.serf.user_event_size_limit",
            "\(serf.userEventSizeLimit)",
            "an integer in 1...\(SerfConfiguration.userEventHardLimit)"
        )
        try Self.require(
            serf.broadcastTimeout >= .zero && serf.leavePropagateDelay >= .zero,
            "gossip.serf.broadcast_timeout",
            serf.broadcastTimeout.configDescription,
            "durations ≥ 0 for broadcast_timeout and leave_propagate_delay"
        )
    }

    static func isWildcard(_ host: String) -> Bool {
        host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0"
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
