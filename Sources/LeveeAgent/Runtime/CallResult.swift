public import LeveeConfiguration
public import LeveePolicy

/// What a guarded call tells the app: how it ended, the answer (the upstream's, or a fallback), and
/// what happened on the way. The Guard API maps it to `CallResponse`.
public struct CallResult: Sendable {
    public var outcome: CallOutcome
    /// The upstream's last answer, or the fallback's; nil when there is neither.
    public var answer: UpstreamResponse?
    /// Whether `answer` is a fallback, and which.
    public var fallback: FallbackKind?
    /// Attempts sent to the upstream (0 when the call was refused locally).
    public var attempts: Int
    /// Of those, the hedges (attempts sent while another was still out).
    public var hedges: Int = 0
    /// The number of the attempt whose result the call returns (1 for the first; a hedge's number
    /// when a hedge won); nil when no attempt was made.
    public var decidingAttempt: Int?
    /// The endpoint of the last attempt.
    public var endpoint: EndpointAddress?
    /// Time spent in the agent, queueing, attempts and backoff included.
    public var elapsed: Duration
    /// With `circuitOpen`: when the breaker lets a probe through.
    public var retryAfter: Duration?
    /// What happened, for a human.
    public var detail: String
    /// When an injected chaos fault, rather than the upstream, made the answer or failure this call
    /// reports: the fault's id and kind (`f3 abort 500`).
    public var fault: String? = nil
    /// Of `attempts`, those an injected chaos fault hit.
    public var faultedAttempts = 0
    /// Callers further up should not retry this failure (``GuardedCall/Finish/callersShouldNotRetry``):
    /// `CallResponse.do_not_retry`, the proxy's `x-levee-retry-pushback-ms: -1`.
    public var doNotRetry = false
}

/// The kinds of answer a failed call may be given instead (`fallback`).
public enum FallbackKind: Hashable, Sendable {
    /// The last good answer for the same key.
    case stale
    /// The configured fixed answer.
    case `static`
}

extension CallOutcome {
    /// The outcome's name: the API's in lower case without its prefix (`ok`, `circuit_open`). The
    /// `outcome` label of the metrics and the proxy listener's `x-levee-outcome` header.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .upstreamFailure: "upstream_failure"
        case .timeout: "timeout"
        case .connectFailure: "connect_failure"
        case .circuitOpen: "circuit_open"
        case .bulkheadFull: "bulkhead_full"
        case .noHealthyEndpoint: "no_healthy_endpoint"
        }
    }
}
