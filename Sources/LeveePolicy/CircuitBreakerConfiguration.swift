/// The settings of one upstream's circuit breaker: the `breaker:` section of an upstream in the
/// configuration file (DESIGN.md, "Policy semantics" and "Configuration").
///
/// Every field has a default, and the defaults are those of DESIGN.md's example, so
/// `CircuitBreakerConfiguration.defaults` is what an upstream without a `breaker:` section gets. The
/// lineage is resilience4j's `CircuitBreakerConfig` (count or time window, minimum number of calls,
/// failure and slow-call rate thresholds) with Hystrix's single half-open probe and Finagle's growing
/// open time; `reference/policy-anchors.md` A1 compares them.
public struct CircuitBreakerConfiguration: Hashable, Sendable {
    /// Which outcomes the trip rule looks at (YAML `window`). Default: the last 100 outcomes (or
    /// `min_calls` of them when a file sets more: `defaultCountWindowSize(minCalls:)`).
    public var window: Window
    /// The fewest outcomes in the window before the rates mean anything (YAML `min_calls`). Default 20,
    /// Hystrix's `requestVolumeThreshold`: with fewer calls, two failures out of three would trip. A
    /// file that sets a count window of fewer than 20 calls gets the window's size
    /// (`defaultMinCalls(window:)`).
    public var minCalls: Int
    /// The failure rate, in percent, at or above which the breaker trips (YAML `failure_rate`).
    /// Default 50, as in resilience4j and Hystrix. Inclusive: exactly 50% trips.
    public var failureRate: Double
    /// When a call counts as slow, and the slow-call rate that trips the breaker (YAML `slow_call`).
    public var slowCall: SlowCall
    /// How long the breaker stays open the first time it opens (YAML `open_for`). Default 30 s, or
    /// `open_for_max` when a file sets a shorter one.
    public var openFor: Duration
    /// The longest the open time may grow to by doubling on consecutive re-opens (YAML `open_for_max`).
    /// Default 5 min, Finagle FailureAccrual's cap of 300 s, or `open_for` when a file sets a longer one.
    public var openForMax: Duration
    /// How many probes HALF_OPEN lets through at once (YAML `half_open_calls`). Default 1, as Hystrix,
    /// Polly and Finagle: one probe is enough to learn whether a sick upstream is back, and many would
    /// hit it while it may still be sick.
    public var halfOpenCalls: Int

    public init(
        window: Window = .count(size: 100),
        minCalls: Int = 20,
        failureRate: Double = 50,
        slowCall: SlowCall = SlowCall(),
        openFor: Duration = .seconds(30),
        openForMax: Duration = .seconds(300),
        halfOpenCalls: Int = 1
    ) {
        self.window = window
        self.minCalls = minCalls
        self.failureRate = failureRate
        self.slowCall = slowCall
        self.openFor = openFor
        self.openForMax = openForMax
        self.halfOpenCalls = halfOpenCalls
    }

    /// The configuration of DESIGN.md's example: count window 100, `min_calls` 20, `failure_rate` 50,
    /// `slow_call` 2 s at 100%, `open_for` 30 s, `open_for_max` 5 min, `half_open_calls` 1.
    public static let defaults = CircuitBreakerConfiguration()

    /// The largest count window: 100 000 outcomes are 1.2 MB of ring per upstream, and more than that
    /// only makes the breaker slower to notice a change.
    public static let maximumCountWindowSize = 100_000

    /// The most buckets a time window may have, so that its fixed storage stays small (a 10 s window
    /// in 1 ms buckets is allowed, a 1 h one in 1 ms buckets is not).
    public static let maximumTimeWindowBuckets = 10_000

    /// The shortest bucket of a time window: a window is at least 1 s long, in at most
    /// `maximumTimeWindowBuckets` buckets.
    public static let minimumTimeWindowBucket = Duration.seconds(1) / maximumTimeWindowBuckets

    /// The most probes HALF_OPEN may admit at once.
    public static let maximumHalfOpenCalls = 10_000
}

extension CircuitBreakerConfiguration {
    /// The outcomes the trip rule is computed over (YAML `window: { kind: count, size: 100 }` or
    /// `{ kind: time, size: 10s }`).
    public enum Window: Hashable, Sendable {
        /// The last `size` outcomes, whatever their age (resilience4j COUNT_BASED).
        case count(size: Int)
        /// The outcomes of the last `size` of time, kept in buckets of `bucket` each (resilience4j
        /// TIME_BASED uses one-second buckets; Hystrix ten buckets of one second).
        ///
        /// Buckets are aligned to whole multiples of `bucket` on the `Instant` timeline, and the newest
        /// bucket is the one `now` falls in, so the window actually covers between `size − bucket` and
        /// `size` of time. That is the price of a fixed-size, allocation-free window.
        case time(size: Duration, bucket: Duration = .seconds(1))

        /// The YAML spelling of the kind (`count` or `time`).
        public var kind: String {
            switch self {
            case .count: "count"
            case .time: "time"
            }
        }
    }

    /// When a call is slow, and how many slow calls trip the breaker (YAML `slow_call`).
    ///
    /// resilience4j's `slowCallDurationThreshold` and `slowCallRateThreshold`: an upstream that answers
    /// correctly but too slowly is holding the caller's bulkhead slots and deadline, which is sickness too.
    public struct SlowCall: Hashable, Sendable {
        /// A call is slow when it took strictly longer than this (YAML `slow_call.duration`; default 2 s,
        /// the default attempt timeout). Strict, as resilience4j's `>` comparison.
        public var duration: Duration
        /// The slow-call rate, in percent, at or above which the breaker trips (YAML `slow_call.rate`;
        /// default 100: only a window of nothing but slow calls trips it). Inclusive.
        public var rate: Double

        public init(duration: Duration = .seconds(2), rate: Double = 100) {
            self.duration = duration
            self.rate = rate
        }
    }
}

extension CircuitBreakerConfiguration {
    /// Checks every field and throws for the first one that a breaker cannot work with, naming it in
    /// the configuration file's spelling (`failure_rate`, `window.size`, `slow_call.duration`).
    ///
    /// Rates must be in `(0, 100]`: a rate of 0 would trip on the first `min_calls` calls even when
    /// all of them succeeded, which is never what anyone means; to keep the slow-call rule out of the
    /// way, leave `slow_call.rate` at 100 and make `slow_call.duration` long.
    public func validate() throws(ConfigurationError) {
        switch window {
        case .count(let size):
            try ConfigurationError.require(
                size >= 1 && size <= Self.maximumCountWindowSize,
                "window.size",
                "\(size)",
                expected: "a number of calls from 1 to \(Self.maximumCountWindowSize)"
            )
            try ConfigurationError.require(
                minCalls <= size,
                "min_calls",
                "\(minCalls)",
                expected: "at most window.size (\(size)), or the breaker could never trip"
            )
        case .time(let size, let bucket):
            try ConfigurationError.require(
                bucket > .zero,
                "window.bucket",
                bucket.configDescription,
                expected: "a duration greater than 0"
            )
            // No window of at least 1 s fits in the most buckets of a shorter one; saying so names the
            // bucket rather than a size that could never be right.
            try ConfigurationError.require(
                bucket >= Self.minimumTimeWindowBucket,
                "window.bucket",
                bucket.configDescription,
                expected:
                    "a duration of at least \(Self.minimumTimeWindowBucket.configDescription) (a window of at least 1s in at most \(Self.maximumTimeWindowBuckets) buckets)"
            )
            try ConfigurationError.require(
                size >= .seconds(1),
                "window.size",
                size.configDescription,
                expected: "a duration of at least 1s"
            )
            let sizeNanos = size.nanoseconds
            let bucketNanos = bucket.nanoseconds
            try ConfigurationError.require(
                sizeNanos % bucketNanos == 0,
                "window.size",
                size.configDescription,
                expected: "a whole multiple of window.bucket (\(bucket.configDescription))"
            )
            try ConfigurationError.require(
                sizeNanos / bucketNanos <= Int64(Self.maximumTimeWindowBuckets),
                "window.size",
                size.configDescription,
                expected:
                    "at most \(Self.maximumTimeWindowBuckets) buckets of window.bucket (\(bucket.configDescription))"
            )
        }
        try ConfigurationError.require(minCalls >= 1, "min_calls", "\(minCalls)", expected: "an integer ≥ 1")
        try ConfigurationError.require(
            failureRate > 0 && failureRate <= 100,
            "failure_rate",
            "\(failureRate)",
            expected: "a percentage greater than 0 and at most 100"
        )
        try ConfigurationError.require(
            slowCall.duration > .zero,
            "slow_call.duration",
            slowCall.duration.configDescription,
            expected: "a duration greater than 0"
        )
        try ConfigurationError.require(
            slowCall.rate > 0 && slowCall.rate <= 100,
            "slow_call.rate",
            "\(slowCall.rate)",
            expected: "a percentage greater than 0 and at most 100"
        )
        try ConfigurationError.require(
            openFor > .zero,
            "open_for",
            openFor.configDescription,
            expected: "a duration greater than 0"
        )
        try ConfigurationError.require(
            openForMax >= openFor,
            "open_for_max",
            openForMax.configDescription,
            expected: "a duration at least open_for (\(openFor.configDescription))"
        )
        try ConfigurationError.require(
            halfOpenCalls >= 1 && halfOpenCalls <= Self.maximumHalfOpenCalls,
            "half_open_calls",
            "\(halfOpenCalls)",
            expected: "an integer from 1 to \(Self.maximumHalfOpenCalls)"
        )
    }
}

extension CircuitBreakerConfiguration {
    // The keys a configuration file leaves unset. Each argument is the value the file sets, nil when it
    // sets none; a value `validate()` refuses is not followed, so that the error names it. Every rule
    // gives the plain default whenever the plain default is valid with the keys the file sets.

    /// The size of a count window whose size the file does not set: 100 calls, or `min_calls` when the
    /// file sets more (up to `maximumCountWindowSize`), so that the breaker can still trip.
    public static func defaultCountWindowSize(minCalls: Int?) -> Int {
        guard let minCalls, minCalls >= 1 else { return 100 }
        return min(max(100, minCalls), maximumCountWindowSize)
    }

    /// `min_calls` when the file does not set it: 20, or the size of a count window of fewer calls, so
    /// that `window: { kind: count, size: 10 }` trips once its 10 calls are in rather than being refused
    /// for a `min_calls` the file never wrote. A time window has no such bound.
    public static func defaultMinCalls(window: Window) -> Int {
        guard case .count(let size) = window, size >= 1 else { return defaults.minCalls }
        return min(defaults.minCalls, size)
    }

    /// The size of a time window whose size the file does not set: 10 s, rounded up to a whole number of
    /// `bucket`s, and at most `maximumTimeWindowBuckets` of them (`bucket: 3s` gives 12 s; `bucket: 500us`
    /// gives 5 s).
    public static func defaultTimeWindowSize(bucket: Duration?) -> Duration {
        let size = Duration.seconds(10)
        guard let bucket, bucket >= minimumTimeWindowBucket else { return size }
        let sizeNanos = size.nanoseconds
        let bucketNanos = bucket.nanoseconds
        var count = sizeNanos / bucketNanos + (sizeNanos % bucketNanos == 0 ? 0 : 1)
        count = min(count, Int64(maximumTimeWindowBuckets))
        return .nanoseconds(bucketNanos * count)
    }

    /// The bucket of a time window whose bucket the file does not set: 1 s, or, for a size that is not a
    /// whole number of seconds, the longest bucket under 1 s that divides it exactly within
    /// `maximumTimeWindowBuckets` (`size: 1500ms` gives 750 ms). A size that no such bucket divides, or
    /// one longer than `maximumTimeWindowBuckets` seconds, keeps 1 s and is refused for its size.
    public static func defaultTimeWindowBucket(size: Duration?) -> Duration {
        let second = Duration.seconds(1)
        guard let size, size >= second else { return second }
        let sizeNanos = size.nanoseconds
        let limit = Int64(maximumTimeWindowBuckets)
        // The fewest buckets of at most 1 s each; each further bucket is a shorter one.
        let fewest = sizeNanos / second.nanoseconds + (sizeNanos % second.nanoseconds == 0 ? 0 : 1)
        guard fewest <= limit else { return second }
        for count in fewest...limit where sizeNanos % count == 0 {
            return .nanoseconds(sizeNanos / count)
        }
        return second
    }

    /// `open_for` when the file does not set it: 30 s, or `open_for_max` when the file sets a shorter
    /// one.
    public static func defaultOpenFor(openForMax: Duration?) -> Duration {
        guard let openForMax, openForMax > .zero else { return defaults.openFor }
        return min(defaults.openFor, openForMax)
    }

    /// `open_for_max` when the file does not set it: 5 min, or `open_for` when the file sets a longer
    /// one (the open time then does not grow).
    public static func defaultOpenForMax(openFor: Duration?) -> Duration {
        guard let openFor, openFor > .zero else { return defaults.openForMax }
        return max(defaults.openForMax, openFor)
    }
}
