public import LeveePolicy

/// Everything the agent reads from its configuration file (DESIGN.md "Configuration"), or the built-in
/// defaults when there is no file.
///
/// Values are validated as they are read: a configuration that exists is one the agent can run with.
public struct AgentConfiguration: Sendable, Hashable {
    /// The name of the service this agent runs beside (`service`, default `levee`): the gossip `svc`
    /// tag, by which peers discover its instances.
    public var service: String
    /// The agent's sockets (`listen`); the built-in paths when the file does not set them.
    public var listen: ListenConfiguration
    /// The file's `defaults` over the built-in defaults: what dynamic upstreams get.
    public var defaults: UpstreamDefaults
    /// The upstreams of the file (`upstreams`), each with `defaults` merged in, sorted by name.
    public var upstreams: [UpstreamConfiguration]
    /// Whether a call may name an upstream the file does not, as `host:port` (`dynamic_upstreams`).
    /// On with no file, so that `levee agent` alone is useful; off by default in a file, so that a
    /// typo in an upstream name is an error rather than a connection to somewhere.
    public var dynamicUpstreams: Bool
    /// How the agent joins its gossip pool (`gossip`), or nil when the file has no such section.
    public var gossip: GossipConfiguration?
    /// The file's `degradation` rules, or nil when it has none (then `degradationRules` are the
    /// implicit ones).
    public var degradation: DegradationRules?
    /// Whether chaos faults may be injected, and their bounds (`chaos`); off by default.
    public var chaos: ChaosConfiguration
    /// The file the configuration was read from, or nil for the built-in defaults.
    public var sourcePath: String?

    public init(
        service: String = "levee",
        listen: ListenConfiguration,
        defaults: UpstreamDefaults = .builtIn,
        upstreams: [UpstreamConfiguration] = [],
        dynamicUpstreams: Bool = false,
        gossip: GossipConfiguration? = nil,
        degradation: DegradationRules? = nil,
        chaos: ChaosConfiguration = .defaults,
        sourcePath: String? = nil
    ) {
        self.service = service
        self.listen = listen
        self.defaults = defaults
        self.upstreams = upstreams
        self.dynamicUpstreams = dynamicUpstreams
        self.gossip = gossip
        self.degradation = degradation
        self.chaos = chaos
        self.sourcePath = sourcePath
    }

    /// The rules that judge the service's level: the file's `degradation`, or else the implicit rules
    /// over the configured upstreams (any one down degrades, all down is minimal).
    public var degradationRules: DegradationRules {
        degradation ?? .implicit(upstreams: upstreams.map(\.name))
    }

    /// The upstream the file calls `name`, or nil.
    public func upstream(named name: String) -> UpstreamConfiguration? {
        upstreams.first { $0.name == name }
    }

    /// The upstream made on the fly for a call to `name`, which must be `host:port` (`[::1]:80` for
    /// IPv6): that one endpoint, `protocolKind`, and the file's `defaults`. Nil when `name` is not an
    /// address or dynamic upstreams are off.
    ///
    /// The upstream is named by the address's canonical spelling (`EndpointAddress.description`), so
    /// key any state by the returned `name`. A name the file configures should be looked up with
    /// `upstream(named:)` first: this does not consult `upstreams`.
    public func dynamicUpstream(named name: String, protocolKind: UpstreamProtocol) -> UpstreamConfiguration? {
        guard dynamicUpstreams, let address = EndpointAddress(parsing: name) else { return nil }
        return defaults.dynamicUpstream(for: address, protocolKind: protocolKind)
    }

    /// The configuration with no file: sockets in `$XDG_RUNTIME_DIR/levee/` or `/tmp/levee-$UID/`
    /// (`ListenConfiguration.builtIn`), default policies, no gossip, and dynamic upstreams on.
    public static func builtIn(environment: [String: String], uid: UInt32) -> AgentConfiguration {
        AgentConfiguration(
            listen: .builtIn(environment: environment, uid: uid),
            dynamicUpstreams: true
        )
    }
}
