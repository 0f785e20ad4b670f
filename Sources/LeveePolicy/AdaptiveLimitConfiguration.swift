/// The settings of an adaptive bulkhead limit, as `bulkhead.adaptive` spells them
/// (`adaptive: { algorithm: gradient2 | aimd, min: 4, max: 512 }`).
///
/// With `adaptive` set, the bulkhead's number of slots is no longer the fixed `max_concurrent`: it follows
/// the upstream's latency, between `min` and `max`, by one of Netflix concurrency-limits' algorithms
/// (`Gradient2Limit`, `AIMDLimit`). `max_concurrent` is then the limit it starts from (clamped into
/// `[min, max]`) unless `initial` says otherwise.
public struct AdaptiveLimitConfiguration: Hashable, Sendable {
    /// How the limit follows the samples.
    public enum Algorithm: String, CaseIterable, Hashable, Sendable {
        /// Netflix `Gradient2Limit`: the limit shrinks when the last RTT exceeds `tolerance` times the
        /// long-term average RTT, and grows by a little queue while it does not.
        case gradient2
        /// Netflix `AIMDLimit`: additive increase while samples are good, multiplicative decrease on a
        /// drop (an attempt that timed out, or one slower than `timeout`).
        case aimd
    }

    public var algorithm: Algorithm
    /// The lowest limit (`min`), ≥ 1.
    public var min: Int
    /// The highest limit (`max`), ≥ `min`.
    public var max: Int
    /// The limit to start from (`initial`); nil: `max_concurrent`, clamped into `[min, max]`.
    public var initial: Int?
    /// Gradient2: how much slower than the long-term RTT the last RTT may be before the limit shrinks
    /// (`tolerance`, Netflix `rttTolerance` 1.5).
    public var tolerance: Double
    /// Gradient2: how much of each new estimate goes into the limit (`smoothing`, Netflix 0.2).
    public var smoothing: Double
    /// AIMD: a sample slower than this counts as a drop (`timeout`, Netflix 5 s); the shell's samples
    /// are windows, so it is their average RTT. Attempts that time out are drops whatever this says.
    public var timeout: Duration
    /// AIMD: the factor a drop multiplies the limit by (`backoff_ratio`, Netflix 0.9, in [0.5, 1)).
    public var backoffRatio: Double
    /// Gradient2: how often a probe measures the RTT at half the load again, the long RTT's ceiling
    /// (`probe_interval`, 30 s); nil (`off`): never, and the long RTT is Netflix's average alone, which
    /// drifts up under a load that keeps the slots busy (``AdaptiveLimit``).
    public var probeInterval: Duration?

    /// Gradient2: how much the limit may grow above the current one while latency is steady (Netflix
    /// `queueSize`, fixed at its default of 4).
    public static let gradient2QueueSize = 4.0
    /// Gradient2: the number of samples of the long-term RTT's exponential average (Netflix
    /// `longWindow` 600), after a plain average of the first `longRTTWarmup` (Netflix 10).
    public static let longRTTWindow = 600
    public static let longRTTWarmup = 10

    public init(
        algorithm: Algorithm = .gradient2,
        min: Int = 4,
        max: Int = 512,
        initial: Int? = nil,
        tolerance: Double = 1.5,
        smoothing: Double = 0.2,
        timeout: Duration = .seconds(5),
        backoffRatio: Double = 0.9,
        probeInterval: Duration? = Self.defaultProbeInterval
    ) {
        self.algorithm = algorithm
        self.min = min
        self.max = max
        self.initial = initial
        self.tolerance = tolerance
        self.smoothing = smoothing
        self.timeout = timeout
        self.backoffRatio = backoffRatio
        self.probeInterval = probeInterval
    }

    /// Gradient2's `probe_interval` when the file does not set it.
    public static let defaultProbeInterval: Duration? = .seconds(30)
    /// The shortest `probe_interval`: a probe halves the limit for a few round trips.
    public static let minimumProbeInterval = Duration.seconds(1)

    /// The largest `max` accepted.
    public static let maxLimit = 1 << 20

    /// The defaults: gradient2 between 4 and 512, as the example spells them.
    public static let defaults = AdaptiveLimitConfiguration()

    /// The YAML keys of `bulkhead.adaptive`.
    public static let keys = [
        "algorithm", "min", "max", "initial", "tolerance", "smoothing", "timeout", "backoff_ratio", "probe_interval",
    ]

    /// `min` when the file does not set it: 4, or `max` when the file sets a smaller one.
    public static func defaultMin(max: Int?) -> Int {
        guard let max, max >= 1 else { return defaults.min }
        return Swift.min(defaults.min, max)
    }

    /// `max` when the file does not set it: 512, or `min` when the file sets a larger one (up to
    /// `maxLimit`).
    public static func defaultMax(min: Int?) -> Int {
        guard let min, min <= maxLimit else { return defaults.max }
        return Swift.max(defaults.max, min)
    }

    /// The limit to start from when the bulkhead's fixed size is `maxConcurrent`.
    public func initialLimit(maxConcurrent: Int) -> Int {
        Swift.min(max, Swift.max(min, initial ?? maxConcurrent))
    }

    /// Checks every value, naming the first bad one by its YAML key.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(min >= 1, "min", "\(min)", expected: "an integer ≥ 1")
        try ConfigurationError.require(
            max >= min && max <= Self.maxLimit,
            "max",
            "\(max)",
            expected: "an integer between min (\(min)) and \(Self.maxLimit)"
        )
        if let initial {
            try ConfigurationError.require(
                initial >= min && initial <= max,
                "initial",
                "\(initial)",
                expected: "an integer between min (\(min)) and max (\(max))"
            )
        }
        try ConfigurationError.require(
            tolerance.isFinite && tolerance >= 1,
            "tolerance",
            "\(tolerance)",
            expected: "a number ≥ 1 such as 1.5"
        )
        try ConfigurationError.require(
            smoothing > 0 && smoothing <= 1,
            "smoothing",
            "\(smoothing)",
            expected: "a number in (0, 1] such as 0.2"
        )
        try ConfigurationError.require(
            timeout > .zero,
            "timeout",
            timeout.configDescription,
            expected: "a duration > 0"
        )
        try ConfigurationError.require(
            backoffRatio >= 0.5 && backoffRatio < 1,
            "backoff_ratio",
            "\(backoffRatio)",
            expected: "a number in [0.5, 1) such as 0.9"
        )
        if let probeInterval {
            try ConfigurationError.require(
                probeInterval >= Self.minimumProbeInterval,
                "probe_interval",
                probeInterval.configDescription,
                expected: Self.probeIntervalExpected
            )
        }
    }

    /// What `probe_interval` may be.
    public static let probeIntervalExpected = "a duration ≥ 1s such as 30s, or off"
}
