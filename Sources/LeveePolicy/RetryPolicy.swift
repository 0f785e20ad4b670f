/// Decides, after each attempt of a call, whether to retry and after how long (DESIGN.md "Retries";
/// gRFC A6 for the attempt count and pushback; Finagle `RetryBudget` for the budget; AWS "Exponential
/// Backoff And Jitter" for the delays).
///
/// The policy is immutable and shared by all calls to an upstream. The per-upstream `RetryBudget` and
/// the per-call `Backoff` are the caller's, passed `inout`; `decide` reads no clock and no randomness
/// but the generator it is given, and allocates nothing.
public struct RetryPolicy: Sendable {
    /// The configuration the policy follows.
    public let configuration: RetryConfiguration

    @usableFromInline
    let retryable: AttemptPatternSet
    @usableFromInline
    let maxAttempts: Int
    @usableFromInline
    let minAttemptTime: Duration
    @usableFromInline
    let idempotentMethods: Set<String>

    /// A policy following `configuration`, which should have passed `validate()`: invalid entries of
    /// `on` are skipped and `max_attempts` below 1 counts as 1.
    public init(configuration: RetryConfiguration = .defaults) {
        self.configuration = configuration
        self.retryable = AttemptPatternSet(configuration.on)
        self.maxAttempts = Swift.max(1, configuration.maxAttempts)
        self.minAttemptTime = Swift.max(.zero, configuration.minAttemptTime)
        self.idempotentMethods = Set(
            configuration.idempotentMethods.map { $0.hasPrefix("/") ? $0 : "/" + $0 }
        )
    }

    /// A budget for the upstream, following `configuration.budget`.
    public func makeBudget() -> RetryBudget {
        RetryBudget(configuration: configuration.budget)
    }

    /// A backoff for one call, following `configuration.backoff`.
    public func makeBackoff() -> Backoff {
        Backoff(configuration: configuration.backoff)
    }

    /// Whether the gRPC method `/package.Service/Method` (the leading `/` may be left out) is listed in
    /// `idempotent_methods`. Evaluated once per call, not per attempt.
    public func isIdempotent(grpcMethod: String) -> Bool {
        if grpcMethod.hasPrefix("/") { return idempotentMethods.contains(grpcMethod) }
        return idempotentMethods.contains("/" + grpcMethod)
    }

    /// Whether the attempt's result is one the `on:` list asks to retry: a failure of a listed kind, or
    /// an answer whose raw status is listed even though the classifier counts it a success (a `429`).
    @inlinable
    public func isRetryable(_ outcome: AttemptOutcome, status: UpstreamStatus? = nil) -> Bool {
        switch outcome {
        case .failure(let failure): retryable.matches(failure)
        case .success: status.map { retryable.matches($0) } ?? false
        case .ignored: false
        }
    }

    /// Decides what follows an attempt.
    ///
    /// The checks run in the order of `RetryStopReason`, and the budget is withdrawn last, so it is
    /// charged only for a retry that will happen (DESIGN.md: charged when the retry is decided):
    /// 1. success → `succeeded` (unless `status` is listed in `on:`); ignored → `ignored`;
    /// 2. a failure not in `on:` → `notRetryable`;
    /// 3. not idempotent and not a connect failure → `notIdempotent`;
    /// 4. `attemptsMade ≥ max_attempts` → `attemptsExhausted`;
    /// 5. the server said "do not retry" → `serverPushback`;
    /// 6. the delay (the server's, which also restarts the backoff (gRFC A6), or the next backoff
    ///    delay) would leave less than `min_attempt_time` before the deadline (or end at or past it) →
    ///    `deadline`;
    /// 7. the budget has no retry left → `budgetExhausted`;
    /// 8. otherwise retry after the delay, avoiding `endpoint`.
    ///
    /// - Parameters:
    ///   - outcome: the classified result of the attempt that just ended.
    ///   - status: the raw status the upstream answered with, if any.
    ///   - isIdempotent: whether the request may be repeated (`RequestIdempotency`, `isIdempotent(grpcMethod:)`).
    ///   - attemptsMade: attempts made so far, the one that just ended included (1 after the first).
    ///   - pushback: what the server said about retrying, if anything.
    ///   - endpoint: the endpoint just tried, for the next attempt to avoid.
    ///   - deadline: the call's deadline.
    ///   - now: the current instant.
    ///   - budget: the upstream's retry budget; withdrawn from only when the decision is `.retry`.
    ///   - backoff: the call's backoff.
    ///   - rng: the jitter's randomness.
    @inlinable
    public func decide<Endpoint: Hashable & Sendable>(
        outcome: AttemptOutcome,
        status: UpstreamStatus? = nil,
        isIdempotent: Bool,
        attemptsMade: Int,
        pushback: ServerPushback? = nil,
        endpoint: Endpoint,
        deadline: Deadline,
        now: Instant,
        budget: inout RetryBudget,
        backoff: inout Backoff,
        using rng: inout some RandomNumberGenerator
    ) -> RetryDecision<Endpoint> {
        let sentNothing: Bool
        switch outcome {
        case .ignored:
            return .stop(.ignored)
        case .success:
            guard let status, retryable.matches(status) else { return .stop(.succeeded) }
            sentNothing = false
        case .failure(let failure):
            guard retryable.matches(failure) else { return .stop(.notRetryable) }
            sentNothing = failure.requestWasNotSent
        }
        guard isIdempotent || sentNothing else { return .stop(.notIdempotent) }
        let delay: Duration
        switch scheduleRetry(
            afterAttempts: attemptsMade,
            pushback: pushback,
            deadline: deadline,
            now: now,
            backoff: &backoff,
            using: &rng
        ) {
        case .wait(let scheduled): delay = scheduled
        case .refused(let reason): return .stop(reason)
        }
        guard budget.tryWithdraw(now: now) else { return .stop(.budgetExhausted) }
        return .retry(after: delay, avoiding: endpoint)
    }

    /// Steps 4 to 6 of `decide`, for a retry that is already known to be wanted and safe: whether
    /// another attempt fits after `attemptsMade` attempts and how long to wait before it. Reads no
    /// budget: `decide` withdraws after this, and an app's own retry (`Acquire` with `attempt > 0`)
    /// withdraws once the breaker and the bulkhead have let it in.
    ///
    /// - Returns: the wait, or why no retry fits (`attemptsExhausted`, `serverPushback`, `deadline`).
    @inlinable
    public func scheduleRetry(
        afterAttempts attemptsMade: Int,
        pushback: ServerPushback? = nil,
        deadline: Deadline,
        now: Instant,
        backoff: inout Backoff,
        using rng: inout some RandomNumberGenerator
    ) -> RetrySchedule {
        guard attemptsMade < maxAttempts else { return .refused(.attemptsExhausted) }
        let delay: Duration
        switch pushback {
        case .doNotRetry:
            return .refused(.serverPushback)
        case .retry(let after):
            delay = Swift.max(.zero, after)
            backoff.reset()
        case nil:
            delay = backoff.nextDelay(using: &rng)
        }
        if !deadline.isNone {
            // The attempt would start at now + delay; it needs at least minAttemptTime (and always some
            // time) before the deadline.
            let needed = Swift.max(minAttemptTime, .nanoseconds(1))
            guard delay + needed <= deadline.remaining(now: now) else { return .refused(.deadline) }
        }
        return .wait(delay)
    }
}
