public import LeveePolicy

/// The file's `defaults` section over the built-in defaults: what an upstream gets for every key it
/// does not set, and all that a dynamic upstream (`host:port`) gets.
///
/// A configured upstream is built by merging the YAML of `defaults` under its own (mappings merge key
/// by key, lists and scalars replace), so this value is for the upstreams the file does not name.
public struct UpstreamDefaults: Sendable, Hashable {
    /// `defaults.protocol` (default `http`). A dynamic upstream uses the protocol the call asks for.
    public var protocolKind: UpstreamProtocol
    /// `defaults.tls` (default false).
    public var tls: Bool
    /// `tls_ca_file`: certificate authorities to trust instead of the system's (PEM).
    public var tlsCAFile: String?
    /// `defaults.endpoints` (default none), for configured upstreams that set neither `endpoints` nor
    /// `discover`. A dynamic upstream's endpoint is its name.
    public var endpoints: [EndpointAddress]
    /// `defaults.discover` (default nil). Not given to dynamic upstreams, whose endpoint is their name.
    public var discover: String?
    /// Every policy section of `defaults`, over the built-in defaults; validated.
    public var policy: UpstreamPolicyConfiguration
    /// `defaults.fallback` (default none).
    public var fallback: FallbackConfiguration

    public init(
        protocolKind: UpstreamProtocol = .http,
        tls: Bool = false,
        endpoints: [EndpointAddress] = [],
        discover: String? = nil,
        policy: UpstreamPolicyConfiguration = .defaults,
        fallback: FallbackConfiguration = .none
    ) {
        self.protocolKind = protocolKind
        self.tls = tls
        self.endpoints = endpoints
        self.discover = discover
        self.policy = policy
        self.fallback = fallback
    }

    /// The built-in defaults: HTTP without TLS, the policy core's `.defaults`, no fallback.
    public static let builtIn = UpstreamDefaults()

    /// The dynamic upstream for `address`: named `address.description` (the canonical `host:port`, so
    /// that two spellings of one address share one breaker), that one endpoint, these defaults.
    public func dynamicUpstream(for address: EndpointAddress, protocolKind: UpstreamProtocol) -> UpstreamConfiguration {
        UpstreamConfiguration(
            name: address.description,
            protocolKind: protocolKind,
            tls: tls,
            endpoints: [address],
            discover: nil,
            policy: policy,
            fallback: fallback,
            isDynamic: true,
            tlsCAFile: tlsCAFile
        )
    }
}
