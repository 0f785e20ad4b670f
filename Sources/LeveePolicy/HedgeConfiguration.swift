/// Hedged requests for an upstream: the `hedge` section (`hedge: { delay: 50ms, max: 1 }`).
///
/// When the first attempt of an idempotent call has not answered after `delay`, a second attempt (a
/// hedge) goes to another endpoint; the first answer that is not a failure wins and the others are
/// abandoned. `delay: p95` follows the upstream's own recent latency: the shell passes the p95 of the
/// last seconds' calls into each call (`GuardedCall.start(now:upstream:recentP95:using:)`). A hedge is charged to the
/// retry budget, as a retry is, and none is sent while the breaker is not closed (gRFC A6 "Hedging
/// policy"; Polly's latency mode).
public struct HedgeConfiguration: Hashable, Sendable {
    /// When a hedge goes out after the attempt before it.
    public enum Delay: Hashable, Sendable, CustomStringConvertible {
        /// A fixed delay (`delay: 50ms`).
        case fixed(Duration)
        /// The p95 of the upstream's recent attempt latencies (`delay: p95`); no hedge is sent before
        /// there is an estimate.
        case p95

        public var description: String {
            switch self {
            case .fixed(let duration): duration.configDescription
            case .p95: "p95"
            }
        }
    }

    /// `delay` (default `p95`).
    public var delay: Delay
    /// Hedges per call at most, the first attempt not included (`max`, default 1).
    public var max: Int

    public init(delay: Delay = .p95, max: Int = 1) {
        self.delay = delay
        self.max = max
    }

    /// The largest `max` accepted: gRFC A6 caps a hedging policy at 5 attempts, the first included.
    public static let maxLimit = 4

    /// Throws naming the first bad key (`delay`, `max`) and its value.
    public func validate() throws(ConfigurationError) {
        if case .fixed(let duration) = delay {
            try ConfigurationError.require(
                duration > .zero && duration <= .seconds(60),
                "delay",
                duration.configDescription,
                expected: "a duration from 1ns to 60s, or p95"
            )
        }
        try ConfigurationError.require(
            max >= 1 && max <= Self.maxLimit,
            "max",
            "\(max)",
            expected: "an integer from 1 to \(Self.maxLimit) (hedges per call, the first attempt not included)"
        )
    }
}
