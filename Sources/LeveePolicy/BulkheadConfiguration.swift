/// The settings of one upstream's bulkhead, as the `bulkhead:` section of the configuration spells them
/// (DESIGN.md, "Configuration": `{ max_concurrent: 64, max_queue: 128, queue_timeout: 100ms,
/// reserved_critical: 8 }`).
public struct BulkheadConfiguration: Hashable, Sendable {
    /// How many calls may hold a slot at once (`max_concurrent`). A slot is held for the whole logical
    /// call, retries and backoff included.
    public var maxConcurrent: Int
    /// How many calls may wait for a slot (`max_queue`); 0 rejects at once when no slot is free, like
    /// resilience4j's default `maxWaitDuration` of 0.
    public var maxQueue: Int
    /// How long a call may wait in the queue (`queue_timeout`), never longer than the call's own deadline
    /// (see `Bulkhead.queueDeadline(callDeadline:now:)`).
    public var queueTimeout: Duration
    /// How many of the `maxConcurrent` slots only `CRITICAL` calls may use (`reserved_critical`): other
    /// calls hold at most `maxConcurrent - reservedCritical` slots between them.
    public var reservedCritical: Int

    /// The largest `max_queue` accepted: the queue's storage is allocated up front, at this size at most.
    public static let maxQueueLimit = 1 << 20

    public init(
        maxConcurrent: Int = 64,
        maxQueue: Int = 128,
        queueTimeout: Duration = .milliseconds(100),
        reservedCritical: Int = 8
    ) {
        self.maxConcurrent = maxConcurrent
        self.maxQueue = maxQueue
        self.queueTimeout = queueTimeout
        self.reservedCritical = reservedCritical
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
    }
}
