/// How one attempt at an upstream ended, as seen from the agent's side of the connection.
///
/// The outcome classifier turns a raw result (an HTTP status, a gRPC status code, a transport error) into
/// this; the circuit breaker, the outlier detector and the retry decision consume it.
public enum AttemptOutcome: Hashable, Sendable {
    /// The upstream did its job (2xx, 3xx, 4xx for HTTP by default: a caller's mistake is not sickness).
    case success
    /// The upstream failed, in the way `AttemptFailure` says. Recorded by the breaker and the outlier
    /// detector; retried when the retry policy lists the kind and the request is safe to repeat.
    case failure(AttemptFailure)
    /// Says nothing about the upstream's health (the app cancelled, or a configured status is neither
    /// success nor failure): never recorded, never retried.
    case ignored

    /// Whether the breaker and the outlier detector count this as a failure.
    @inlinable
    public var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}

/// The ways an attempt can fail, in the words of the retry configuration's `on:` list.
public enum AttemptFailure: Hashable, Sendable {
    /// No connection could be made: nothing was sent, so a retry is always safe.
    case connectFailure
    /// The connection broke after the request may have been sent.
    case reset
    /// The attempt's timeout passed before the answer came.
    case timeout
    /// The upstream answered with an HTTP status that the classifier counts as failure (5xx by default).
    case httpStatus(Int)
    /// The upstream answered with a gRPC status code that the classifier counts as failure.
    case grpcStatus(Int)

    /// Whether the request certainly never reached the upstream, which makes a retry safe even for a
    /// request that is not idempotent.
    @inlinable
    public var requestWasNotSent: Bool {
        self == .connectFailure
    }
}
