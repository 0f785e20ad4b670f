/// How a guarded call ended, as the app is told (`CallResponse.outcome`, DESIGN.md "The application
/// API").
///
/// An attempt's `AttemptOutcome` says what one try did to the upstream's health; a call's outcome says
/// what the app gets after the breaker, bulkhead, retries and deadline have had their say.
public enum CallOutcome: Hashable, Sendable, CaseIterable {
    /// The upstream answered and the answer is not a failure (a 4xx is the caller's mistake: OK).
    case ok
    /// The upstream answered with a failure, or broke the connection, after the allowed retries.
    case upstreamFailure
    /// The deadline or an attempt's timeout passed before an answer came, or the deadline was spent
    /// before the call arrived (then nothing was sent).
    case timeout
    /// No connection to any endpoint tried could be made.
    case connectFailure
    /// The circuit breaker rejected the call: nothing was sent.
    case circuitOpen
    /// The bulkhead had no slot and the call could not wait for one: nothing was sent.
    case bulkheadFull
    /// The upstream has no endpoint to call.
    case noHealthyEndpoint
}
