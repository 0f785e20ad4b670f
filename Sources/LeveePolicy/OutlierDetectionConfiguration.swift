/// The settings of passive outlier detection for one upstream's endpoints, after Envoy's
/// `outlier_detection` (`consecutive_5xx`, `base_ejection_time`, `max_ejection_time`,
/// `max_ejection_percent`, `interval`), with Levee's YAML names.
public struct OutlierDetectionConfiguration: Hashable, Sendable {
    /// Consecutive failed attempts that eject an endpoint (`consecutive_failures`; Envoy's
    /// `consecutive_5xx`, default 5).
    public var consecutiveFailures: Int
    /// The ejection time of a first ejection (`base_ejection_time`, Envoy default 30 s, or
    /// `max_ejection_time` when a file sets a shorter one); the n-th ejection in a row lasts n times as
    /// long.
    public var baseEjectionTime: Duration
    /// The longest an ejection lasts (`max_ejection_time`, Envoy default 300 s, or `base_ejection_time`
    /// when a file sets a longer one, as Envoy does).
    public var maxEjectionTime: Duration
    /// The largest share of the endpoints, in percent, that may be ejected at once
    /// (`max_ejection_percent`; Levee's default 50, Envoy's 10). 0 disables ejection.
    public var maxEjectionPercent: Int
    /// How long an endpoint must stay healthy for its ejection multiplier to drop by one (`interval`,
    /// Envoy's default 10 s: Envoy decrements the multiplier once per healthy detection interval).
    public var interval: Duration

    public init(
        consecutiveFailures: Int = 5,
        baseEjectionTime: Duration = .seconds(30),
        maxEjectionTime: Duration = .seconds(300),
        maxEjectionPercent: Int = 50,
        interval: Duration = .seconds(10)
    ) {
        self.consecutiveFailures = consecutiveFailures
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionTime = maxEjectionTime
        self.maxEjectionPercent = maxEjectionPercent
        self.interval = interval
    }

    /// The defaults of DESIGN.md.
    public static let defaults = OutlierDetectionConfiguration()

    /// Checks every value, naming the first bad one by its YAML key.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(
            consecutiveFailures >= 1 && consecutiveFailures <= Int(Int32.max),
            "consecutive_failures",
            "\(consecutiveFailures)",
            expected: "an integer ≥ 1"
        )
        try ConfigurationError.require(
            baseEjectionTime > .zero,
            "base_ejection_time",
            baseEjectionTime.configDescription,
            expected: "a duration > 0"
        )
        try ConfigurationError.require(
            maxEjectionTime >= baseEjectionTime,
            "max_ejection_time",
            maxEjectionTime.configDescription,
            expected: "a duration ≥ base_ejection_time (\(baseEjectionTime.configDescription))"
        )
        try ConfigurationError.require(
            (0...100).contains(maxEjectionPercent),
            "max_ejection_percent",
            "\(maxEjectionPercent)",
            expected: "an integer between 0 and 100"
        )
        try ConfigurationError.require(
            interval > .zero,
            "interval",
            interval.configDescription,
            expected: "a duration > 0"
        )
    }
}

extension OutlierDetectionConfiguration {
    // The keys a configuration file leaves unset. Each argument is the value the file sets, nil when it
    // sets none; a value `validate()` refuses is not followed, so that the error names it.

    /// `base_ejection_time` when the file does not set it: 30 s, or `max_ejection_time` when the file
    /// sets a shorter one.
    public static func defaultBaseEjectionTime(maxEjectionTime: Duration?) -> Duration {
        guard let maxEjectionTime, maxEjectionTime > .zero else { return defaults.baseEjectionTime }
        return min(defaults.baseEjectionTime, maxEjectionTime)
    }

    /// `max_ejection_time` when the file does not set it: 300 s or `base_ejection_time`, whichever is
    /// larger, Envoy's rule for an unset `max_ejection_time` (`outlier_detection.proto`).
    public static func defaultMaxEjectionTime(baseEjectionTime: Duration?) -> Duration {
        guard let baseEjectionTime, baseEjectionTime > .zero else { return defaults.maxEjectionTime }
        return max(defaults.maxEjectionTime, baseEjectionTime)
    }
}
