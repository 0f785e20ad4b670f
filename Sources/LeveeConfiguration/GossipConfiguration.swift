import LeveePolicy

/// How the agent joins its gossip pool (`gossip`): a HashiCorp memberlist/Serf pool (DESIGN.md
/// "Gossip"). The agent gossips only when the section is present.
public struct GossipConfiguration: Sendable, Hashable {
    /// The member name (`name`), or nil for the host name. Unique in the pool.
    public var name: String?
    /// The UDP and TCP address to listen on (`bind`, default `0.0.0.0:7946`, serf's default), always
    /// `host:port` (a bare host gets port 7946). Port 0 picks a free port.
    public var bind: String
    /// The address peers should use to reach this member (`advertise`, `host:port`), or nil for the
    /// bind address.
    public var advertise: String?
    /// Members to join at start (`join`), each `host:port` (a bare host gets port 7946, as with
    /// `serf join`).
    public var join: [String]
    /// The pool's encryption key (`encrypt_key`): base64 of 16, 24 or 32 bytes (AES-128/192/256-GCM),
    /// the format of `serf keygen` and `serf agent -encrypt`. Nil gossips in clear.
    public var encryptKey: String?
    /// The memberlist timing profile (`profile`: `lan`, the default, `wan` or `local`), as memberlist's
    /// `DefaultLANConfig`, `DefaultWANConfig` and `DefaultLocalConfig`.
    public var profile: String
    /// What the agent does with peers' health reports (`share`: `off`, `advisory`, the default, or
    /// `follow`, which may open a breaker when `quorum` peers report the upstream open).
    public var share: String
    /// How many peers must report an upstream's breaker open before `follow` opens ours (`quorum`,
    /// default 1).
    public var quorum: Int
    /// The app's own address (`service_address`), published as the `addr` tag so that other agents can
    /// discover this instance (`endpoints: { discover: SERVICE }`); nil publishes none.
    public var serviceAddress: String?
    /// How long a peer's `levee-health` report counts (`health_ttl`, default 30s); agents repeat the
    /// reports of breakers still open well within it.
    public var healthTTL: Duration
    /// How many failed attempts in a row (since the last success) make an agent suspect an upstream
    /// (`suspect_after`, default 5; 0: never). It tells its peers at once; under `follow`, a CLOSED
    /// breaker opens when its own streak is that long and `quorum` live peers suspect the upstream too
    /// (or report it open), long before each window alone would reach its failure rate.
    public var suspectAfter: Int

    public init(
        name: String? = nil,
        bind: String = "0.0.0.0:7946",
        advertise: String? = nil,
        join: [String] = [],
        encryptKey: String? = nil,
        profile: String = "lan",
        share: String = "advisory",
        quorum: Int = 1,
        serviceAddress: String? = nil,
        healthTTL: Duration = .seconds(30),
        suspectAfter: Int = 5
    ) {
        self.name = name
        self.bind = bind
        self.advertise = advertise
        self.join = join
        self.encryptKey = encryptKey
        self.profile = profile
        self.share = share
        self.quorum = quorum
        self.serviceAddress = serviceAddress
        self.healthTTL = healthTTL
        self.suspectAfter = suspectAfter
    }

    /// The defaults of a `gossip:` section with no keys.
    public static let defaults = GossipConfiguration()

    /// The port serf and memberlist use when none is given.
    public static let defaultPort = 7946

    /// The spellings of `profile`.
    public static let profiles = ["lan", "wan", "local"]

    /// The spellings of `share`.
    public static let shareModes = ["off", "advisory", "follow"]

    /// The largest `suspect_after` accepted.
    public static let maximumSuspectAfter = 1000

    /// How long a peer's suspicion counts: a streak of failures is news of the moment, not of the
    /// last `health_ttl` (a peer whose breaker opens reports that, and repeats it).
    public static let suspicionTTL = Duration.seconds(5)

    /// The largest `quorum` accepted.
    public static let maximumQuorum = 1000

    /// The key bytes of `encryptKey`, or nil when there is none or it is not valid base64 (a parsed
    /// configuration's key always is).
    public var encryptKeyBytes: [UInt8]? {
        encryptKey.flatMap(Base64.decode)
    }
}
