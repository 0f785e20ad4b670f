/// The settings of one upstream's bulkhead, as the `bulkhead:` section of the configuration spells them
/// (DESIGN.md, "Configuration": `{ max_concurrent: 64, max_queue: 128, queue_timeout: 100ms,
/// reserved_critical: 8 }`).
public struct BulkheadConfiguration: Hashable, Sendable {
    /// How many calls may hold a slot at once (`max_concurrent`). A slot is held for the whole logical
    /// call, retries and backoff included. Default 64 (more for a file that sets a `reserved_critical` of
    /// 64 or more: `defaultMaxConcurrent(reservedCritical:)`).
    public var maxConcurrent: Int
    /// How many calls may wait for a slot (`max_queue`); 0 rejects at once when no slot is free, like
    /// resilience4j's default `maxWaitDuration` of 0.
    public var maxQueue: Int
    /// How long a call may wait in the queue (`queue_timeout`), never longer than the call's own deadline
    /// (see `Bulkhead.queueDeadline(callDeadline:now:)`). Default 100 ms, or `timeouts.total` when a file
    /// sets a shorter one (`defaultQueueTimeout(total:)`).
    public var queueTimeout: Duration
    /// How many of the `maxConcurrent` slots only `CRITICAL` calls may use (`reserved_critical`): other
    /// calls hold at most `maxConcurrent - reservedCritical` slots between them. Default 8, an eighth of
    /// the default 64 slots; a file that sets `max_concurrent` alone reserves an eighth of its value
    /// (`defaultReservedCritical(maxConcurrent:)`).
    public var reservedCritical: Int
    /// When set (`adaptive`), the number of slots follows the upstream's latency between `adaptive.min`
    /// and `adaptive.max` instead of staying at `maxConcurrent`, which is then only where it starts
    /// (`AdaptiveLimit`); `reservedCritical` keeps its share of whatever the limit is.
    public var adaptive: AdaptiveLimitConfiguration?

    /// The largest `max_queue` accepted: the queue's storage is allocated up front, at this size at most.
    public static let maxQueueLimit = 1 << 20

    public init(
        maxConcurrent: Int = 64,
        maxQueue: Int = 128,
        queueTimeout: Duration = .milliseconds(100),
        reservedCritical: Int = 8,
        adaptive: AdaptiveLimitConfiguration? = nil
    ) {
        self.maxConcurrent = maxConcurrent
        self.maxQueue = maxQueue
        self.queueTimeout = queueTimeout
        self.reservedCritical = reservedCritical
        self.adaptive = adaptive
    }

    /// The defaults of DESIGN.md.
    public static let defaults = BulkheadConfiguration()

    /// The number of slots that calls other than `CRITICAL` may hold between them.
    @inlinable
    public var nonCriticalLimit: Int {
        maxConcurrent - reservedCritical
    }

    /// Checks every value, naming the first bad one by its YAML key.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(
            maxConcurrent >= 1,
            "max_concurrent",
            "\(maxConcurrent)",
            expected: "an integer ≥ 1"
        )
        try ConfigurationError.require(
            maxQueue >= 0 && maxQueue <= Self.maxQueueLimit,
            "max_queue",
            "\(maxQueue)",
            expected: "an integer between 0 and \(Self.maxQueueLimit)"
        )
        try ConfigurationError.require(
            queueTimeout >= .zero,
            "queue_timeout",
            queueTimeout.configDescription,
            expected: "a duration ≥ 0"
        )
        try ConfigurationError.require(
            reservedCritical >= 0 && reservedCritical < maxConcurrent,
            "reserved_critical",
            "\(reservedCritical)",
            expected: "an integer ≥ 0 and less than max_concurrent (\(maxConcurrent))"
        )
        if let adaptive {
            try ConfigurationError.within("adaptive") { () throws(ConfigurationError) in try adaptive.validate() }
        }
    }

    /// The slots reserved for `CRITICAL` calls when the bulkhead has `limit` slots: `reservedCritical`
    /// at `maxConcurrent`, and the same share, rounded down, of an adaptive limit.
    @inlinable
    public func reservedCritical(atLimit limit: Int) -> Int {
        limit == maxConcurrent ? reservedCritical : limit * reservedCritical / maxConcurrent
    }
}

extension BulkheadConfiguration {
    // The keys a configuration file leaves unset. Each argument is the value the file sets, nil when it
    // sets none; a value `validate()` refuses is not followed, so that the error names it.

    /// `reserved_critical` when the file does not set it: an eighth of `max_concurrent`, rounded down,
    /// as the defaults reserve 8 of 64. A fixed 8 would refuse `bulkhead: { max_concurrent: 4 }` for a
    /// key the file never wrote, and take a large share of any small bulkhead away from other calls.
    public static func defaultReservedCritical(maxConcurrent: Int?) -> Int {
        guard let maxConcurrent, maxConcurrent >= 1 else { return defaults.reservedCritical }
        return maxConcurrent / 8
    }

    /// `max_concurrent` when the file does not set it: 64, or, for a `reserved_critical` the default
    /// could not hold (64 or more), eight times `reserved_critical`, so that the reserved slots are an
    /// eighth as in the defaults. Smaller reservations keep 64: they were valid, and a file that worked
    /// must not start sending an upstream more calls at once.
    public static func defaultMaxConcurrent(reservedCritical: Int?) -> Int {
        guard let reservedCritical, reservedCritical >= defaults.maxConcurrent else { return defaults.maxConcurrent }
        let (slots, overflow) = reservedCritical.multipliedReportingOverflow(by: 8)
        return overflow ? defaults.maxConcurrent : slots
    }

    /// `queue_timeout` when the file does not set it: 100 ms, or `timeouts.total` when the file sets a
    /// shorter one, since no call waits in the queue past its own deadline
    /// (`UpstreamPolicyConfiguration.validate()`).
    public static func defaultQueueTimeout(total: Duration?) -> Duration {
        guard let total, TimeoutConfiguration.accepts(total) else { return defaults.queueTimeout }
        return min(defaults.queueTimeout, total)
    }
}
