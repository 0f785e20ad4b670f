/// When and how an upstream's calls are retried: the `retry` section of an upstream (DESIGN.md
/// "Retries").
public struct RetryConfiguration: Hashable, Sendable {
    /// Attempts per call, the first included (`max_attempts`, default 3; the gRFC A6 convention). 1
    /// turns retries off.
    public var maxAttempts: Int
    /// The failures worth retrying (`on`, default `[connect-failure, reset, timeout, 5xx, unavailable]`).
    /// Only a connect failure is retried for a request that is not idempotent (DESIGN.md). An entry may
    /// name a status the classifier counts as a success (`429`, `resource-exhausted`): it is retried all
    /// the same.
    public var on: [AttemptPattern]
    /// The delays between attempts (`backoff`).
    public var backoff: BackoffConfiguration
    /// The share of requests that may be retried (`budget`).
    public var budget: RetryBudgetConfiguration
    /// gRPC methods safe to repeat (`idempotent_methods`, default none), as full method names
    /// `/package.Service/Method` (the leading `/` may be left out).
    public var idempotentMethods: [String]
    /// The least time an attempt needs to be worth starting (`min_attempt_time`, default 1 ms): a retry
    /// whose wait would leave less than this before the deadline is not made (DESIGN.md: "no wait that
    /// would end past the deadline"; an attempt with no useful time left would only add load).
    public var minAttemptTime: Duration

    public init(
        maxAttempts: Int = 3,
        on: [AttemptPattern] = [.connectFailure, .reset, .timeout, .httpStatus(500...599), .grpcStatus(14)],
        backoff: BackoffConfiguration = .defaults,
        budget: RetryBudgetConfiguration = .defaults,
        idempotentMethods: [String] = [],
        minAttemptTime: Duration = .milliseconds(1)
    ) {
        self.maxAttempts = maxAttempts
        self.on = on
        self.backoff = backoff
        self.budget = budget
        self.idempotentMethods = idempotentMethods
        self.minAttemptTime = minAttemptTime
    }

    /// 3 attempts on connect failures, resets, timeouts, 5xx and UNAVAILABLE, with the default backoff
    /// and budget.
    public static let defaults = RetryConfiguration()

    /// The largest `max_attempts` accepted. gRFC A6 clamps to 5; Levee allows a little more for
    /// upstreams that are known to shed load by failing fast.
    public static let maxAttemptsLimit = 10

    /// Throws naming the first bad key (`max_attempts`, `on[2]`, `backoff.base`, `budget.ratio`,
    /// `idempotent_methods[0]`, `min_attempt_time`) and its value.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(
            maxAttempts >= 1 && maxAttempts <= Self.maxAttemptsLimit,
            "max_attempts",
            "\(maxAttempts)",
            expected: "an integer from 1 to \(Self.maxAttemptsLimit) (the first attempt included)"
        )
        for (index, pattern) in on.enumerated() where !pattern.isValid {
            throw ConfigurationError(
                keyPath: "on[\(index)]",
                value: pattern.description,
                expected: AttemptPattern.expectedSpelling
            )
        }
        try ConfigurationError.within("backoff") { () throws(ConfigurationError) in try backoff.validate() }
        try ConfigurationError.within("budget") { () throws(ConfigurationError) in try budget.validate() }
        for (index, method) in idempotentMethods.enumerated() {
            let name = method.hasPrefix("/") ? method.dropFirst() : Substring(method)
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            try ConfigurationError.require(
                parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty,
                "idempotent_methods[\(index)]",
                method,
                expected: "a gRPC method name like /package.Service/Method"
            )
        }
        try ConfigurationError.require(
            minAttemptTime >= .zero,
            "min_attempt_time",
            minAttemptTime.configDescription,
            expected: "a duration ≥ 0"
        )
    }
}
