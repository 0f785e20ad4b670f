/// The status an upstream answered with, before the outcome classifier has judged it.
///
/// The classifier turns it into an `AttemptOutcome`; the retry decision also looks at it, so that an
/// answer the breaker counts as a success (a 429, a gRPC RESOURCE_EXHAUSTED) can still be retried when
/// the retry configuration's `on:` list names it.
public enum UpstreamStatus: Hashable, Sendable {
    /// An HTTP status code (RFC 9110 §15).
    case http(Int)
    /// A gRPC status code, 0 (OK) to 16 (UNAUTHENTICATED) (gRPC `doc/statuscodes.md`).
    case grpc(Int)
}
