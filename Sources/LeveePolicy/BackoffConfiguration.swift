/// How long to wait before each retry: the `retry.backoff` section of an upstream.
///
/// The delay ceiling for retry n (n ≥ 1) is `min(max, base·multiplier^(n−1))`; `jitter` says how a
/// delay is drawn under it (AWS Architecture Blog, Brooker, "Exponential Backoff And Jitter", 2015).
/// DESIGN.md "Retries" picks full jitter by default.
public struct BackoffConfiguration: Hashable, Sendable {
    /// How a delay is drawn from its ceiling v (AWS "Exponential Backoff And Jitter").
    public enum Jitter: String, CaseIterable, Hashable, Sendable {
        /// No jitter: the delay is v itself. Synchronised clients retry in waves; use only for tests
        /// or a single client.
        case none
        /// "Full jitter": U(0, v). The fewest calls and the least total work in the AWS simulation; the
        /// default.
        case full
        /// "Equal jitter": v/2 + U(0, v/2). Never waits less than half the ceiling.
        case equal
        /// "Decorrelated jitter": min(max, U(base, 3·previous)), starting from previous = base. Grows
        /// from the last delay drawn rather than from n, and never waits less than `base`.
        case decorrelated
    }

    /// The ceiling of the first retry's delay (`backoff.base`, default 25 ms, or `max` when a file sets a
    /// shorter one).
    public var base: Duration
    /// The growth of the ceiling from one retry to the next (`backoff.multiplier`, default 2, as
    /// DESIGN.md's `base·2^(n−1)`).
    public var multiplier: Double
    /// The cap of every delay (`backoff.max`, default 1 s, or `base` when a file sets a longer one).
    public var max: Duration
    /// How a delay is drawn under its ceiling (`backoff.jitter`, default `full`).
    public var jitter: Jitter

    public init(
        base: Duration = .milliseconds(25),
        multiplier: Double = 2,
        max: Duration = .seconds(1),
        jitter: Jitter = .full
    ) {
        self.base = base
        self.multiplier = multiplier
        self.max = max
        self.jitter = jitter
    }

    /// Base 25 ms, multiplier 2, max 1 s, full jitter (DESIGN.md "Configuration").
    public static let defaults = BackoffConfiguration()

    /// Throws naming the first key (`base`, `multiplier`, `max`) whose value a backoff cannot use.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(
            base > .zero,
            "base",
            base.configDescription,
            expected: "a duration > 0"
        )
        try ConfigurationError.require(
            multiplier.isFinite && multiplier >= 1 && multiplier <= 100,
            "multiplier",
            "\(multiplier)",
            expected: "a number from 1 to 100"
        )
        try ConfigurationError.require(
            max >= base,
            "max",
            max.configDescription,
            expected: "a duration ≥ base (\(base.configDescription))"
        )
    }
}

extension BackoffConfiguration {
    // The keys a configuration file leaves unset. Each argument is the value the file sets, nil when it
    // sets none; a value `validate()` refuses is not followed, so that the error names it.

    /// `base` when the file does not set it: 25 ms, or `max` when the file sets a shorter one (every
    /// delay is then drawn under `max`).
    public static func defaultBase(max: Duration?) -> Duration {
        guard let max, max > .zero else { return defaults.base }
        return Swift.min(defaults.base, max)
    }

    /// `max` when the file does not set it: 1 s, or `base` when the file sets a longer one, so that
    /// `backoff: { base: 2s }` is a steady 2 s ceiling rather than an error about `max`.
    public static func defaultMax(base: Duration?) -> Duration {
        guard let base, base > .zero else { return defaults.max }
        return Swift.max(defaults.max, base)
    }
}
