/// What to do after an attempt: retry after a wait, preferably on another endpoint, or stop and return
/// the last result.
public enum RetryDecision<Endpoint: Hashable & Sendable>: Hashable, Sendable {
    /// Wait `after`, then make the next attempt, on an endpoint other than `avoiding` when one exists
    /// (DESIGN.md "Retries"). The retry budget has already been charged.
    case retry(after: Duration, avoiding: Endpoint)
    /// Do not retry; the call returns the last attempt's result.
    case stop(RetryStopReason)

    /// Why a call stops.
    public typealias StopReason = RetryStopReason
}

/// Why a call is not retried, in the order `RetryPolicy.decide` checks.
public enum RetryStopReason: Hashable, Sendable, CaseIterable {
    /// The attempt succeeded.
    case succeeded
    /// The attempt's outcome says nothing about the upstream (cancelled by the caller, an ignored
    /// status): nothing to retry.
    case ignored
    /// The failure is not in the `on:` list.
    case notRetryable
    /// The request is not idempotent and the failure was not a connect failure, so the upstream may
    /// have acted on it (DESIGN.md "Retries").
    case notIdempotent
    /// `max_attempts` attempts have been made (the first included, gRFC A6).
    case attemptsExhausted
    /// The upstream asked not to be retried (gRFC A6: a negative or malformed `grpc-retry-pushback-ms`).
    case serverPushback
    /// The wait would end at or past the deadline, or leave less than `min_attempt_time` (DESIGN.md:
    /// "the call returns its last result at once").
    case deadline
    /// The retry budget is spent (Finagle `RetryBudget`).
    case budgetExhausted
}
