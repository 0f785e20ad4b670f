public import LeveePolicy

/// One upstream the agent calls on the application's behalf: `upstreams.NAME` with the file's
/// `defaults` merged under it, or an upstream named `host:port` made on the fly.
public struct UpstreamConfiguration: Sendable, Hashable {
    /// The name the application calls it by (the key under `upstreams`, or `host:port` for a dynamic
    /// upstream). Never empty, never with whitespace.
    public var name: String
    /// How the agent talks to the endpoints (`protocol`, default `http`).
    public var protocolKind: UpstreamProtocol
    /// Whether connections use TLS (`tls`, default false).
    public var tls: Bool
    /// A PEM file of the certificate authorities to trust for this upstream (`tls_ca_file`), instead
    /// of the system's; nil trusts the system's.
    public var tlsCAFile: String?
    /// The endpoints as configured (`endpoints`), distinct, in file order. May be empty only when
    /// `discover` is set.
    public var endpoints: [EndpointAddress]
    /// The service name whose gossip members (tag `svc`) are endpoints too (`discover`), or nil.
    public var discover: String?
    /// Every policy of the upstream (`timeouts`, `retry`, `breaker`, `bulkhead`, `outlier_detection`,
    /// `load_balancing`, `classify`), validated.
    public var policy: UpstreamPolicyConfiguration
    /// What a failed call is answered with (`fallback`).
    public var fallback: FallbackConfiguration
    /// Whether the upstream was made on the fly for a `host:port` name rather than read from the file:
    /// the agent may drop such an upstream when it is idle, never a configured one.
    public var isDynamic: Bool

    public init(
        name: String,
        protocolKind: UpstreamProtocol = .http,
        tls: Bool = false,
        endpoints: [EndpointAddress] = [],
        discover: String? = nil,
        policy: UpstreamPolicyConfiguration = .defaults,
        fallback: FallbackConfiguration = .none,
        isDynamic: Bool = false,
        tlsCAFile: String? = nil
    ) {
        self.name = name
        self.protocolKind = protocolKind
        self.tls = tls
        self.endpoints = endpoints
        self.discover = discover
        self.policy = policy
        self.fallback = fallback
        self.isDynamic = isDynamic
        self.tlsCAFile = tlsCAFile
    }
}
