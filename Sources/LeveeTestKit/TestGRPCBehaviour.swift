public import GRPCCore

/// What a ``TestGRPCServer`` does with a unary call: answer, fail with a status, or answer late.
///
/// The server reads the behaviour when a call arrives, so a change applies to the next call, never to
/// one already stalling.
public enum TestGRPCBehaviour: Sendable {
    /// Answers the request's bytes, with `x-echo-method: <service>/<method>` in the initial metadata.
    case echo
    /// Answers `message`.
    case respond([UInt8])
    /// Ends the call with status `code`, `message` and trailing `metadata` (e.g.
    /// `grpc-retry-pushback-ms`, gRFC A6).
    case fail(code: RPCError.Code, message: String = "", metadata: Metadata = [:])
    /// Waits `duration`, then behaves as `then`. The wait ends early, failing the call with `cancelled`,
    /// when gRPC cancels the call: the client's `grpc-timeout` passed, the client reset the stream, or
    /// the server began shutting down.
    indirect case stall(Duration, then: TestGRPCBehaviour)
}
