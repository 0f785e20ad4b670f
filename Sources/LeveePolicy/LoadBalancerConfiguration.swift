/// How one upstream spreads its attempts over its endpoints (DESIGN.md, "Endpoints").
public struct LoadBalancerConfiguration: Hashable, Sendable {
    /// The choice rule, as the configuration spells it (`load_balancing: round_robin | least_loaded`).
    public enum Policy: String, CaseIterable, Hashable, Sendable {
        /// Each candidate in turn, skipping the ones that are not candidates right now.
        case roundRobin = "round_robin"
        /// Power of two choices: two distinct random candidates, the one with fewer attempts in flight
        /// wins (Mitzenmacher; Envoy's `LEAST_REQUEST` with `choice_count` 2).
        case leastLoaded = "least_loaded"
    }

    /// The choice rule (`load_balancing`); default `round_robin`.
    public var policy: Policy

    public init(policy: Policy = .roundRobin) {
        self.policy = policy
    }

    /// The defaults of DESIGN.md.
    public static let defaults = LoadBalancerConfiguration()
}
