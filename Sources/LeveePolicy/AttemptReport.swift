/// What one attempt brought back, as far as the policy is concerned: the upstream's status and what it
/// said about retrying, or how the transport failed, or a result the app judged itself.
///
/// The shell keeps the answer's body; `GuardedCall` only needs what decides the call's course.
public enum AttemptReport: Hashable, Sendable {
    /// The upstream answered with `status`; `pushback` is what it said about retrying (`Retry-After`,
    /// `grpc-retry-pushback-ms`).
    case answered(UpstreamStatus, pushback: ServerPushback?)
    /// No answer: the transport failed.
    case failed(TransportFailure)
    /// An attempt the app made itself (`Acquire`/`Release`) and judged: success, failure, timeout, or
    /// nothing to say (`ignored`).
    case judged(AttemptOutcome)
}
