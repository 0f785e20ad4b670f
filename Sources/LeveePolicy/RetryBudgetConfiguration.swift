/// How many retries an upstream may take: the `retry.budget` section (Finagle `RetryBudget`, as
/// Linkerd uses it).
///
/// Over the last `ttl`, retries may add up to `ratio` of the original requests, or `minPerSecond`
/// retries per second if that is more: a floor, so that a quiet upstream can still be retried.
public struct RetryBudgetConfiguration: Hashable, Sendable {
    /// The share of original requests that may be retried (`budget.ratio`, default 0.2, Finagle's
    /// `percentCanRetry`). 0 leaves only the floor.
    public var ratio: Double
    /// Retries per second allowed whatever the traffic (`budget.min_per_second`, default 10, Finagle's
    /// `minRetriesPerSec`); a floor under the ratio's allowance, not added to it.
    public var minPerSecond: Int
    /// How long a deposit or a withdrawal counts (`budget.ttl`, default 10 s; Finagle allows 1 s to
    /// 60 s).
    public var ttl: Duration

    public init(ratio: Double = 0.2, minPerSecond: Int = 10, ttl: Duration = .seconds(10)) {
        self.ratio = ratio
        self.minPerSecond = minPerSecond
        self.ttl = ttl
    }

    /// Ratio 0.2, 10 retries per second, ttl 10 s (DESIGN.md "Configuration"; Finagle's defaults).
    public static let defaults = RetryBudgetConfiguration()

    /// Throws naming the first key (`ratio`, `min_per_second`, `ttl`) whose value a budget cannot use.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(
            ratio.isFinite && ratio >= 0 && ratio <= 1000,
            "ratio",
            "\(ratio)",
            expected: "a number from 0 to 1000 (Finagle's bounds on percentCanRetry)"
        )
        try ConfigurationError.require(
            minPerSecond >= 0 && minPerSecond <= 1_000_000,
            "min_per_second",
            "\(minPerSecond)",
            expected: "an integer from 0 to 1000000"
        )
        try ConfigurationError.require(
            ttl >= .seconds(1) && ttl <= .seconds(60),
            "ttl",
            ttl.configDescription,
            expected: "a duration from 1s to 60s (Finagle's bounds)"
        )
    }
}
