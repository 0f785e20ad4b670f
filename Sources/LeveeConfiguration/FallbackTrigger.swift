/// A call outcome that may be answered with a fallback instead (`fallback.on`).
///
/// The cases are the outcomes of `CallResponse.outcome` other than `OK` and `FAULT_INJECTED` (DESIGN.md
/// "The application API"); the raw values are the configuration's spelling. The file may also write
/// them with `-` (`circuit-open`), as the retry section writes `connect-failure`.
public enum FallbackTrigger: String, Sendable, Hashable, CaseIterable {
    /// The upstream answered with a failure after the allowed retries.
    case upstreamFailure = "upstream_failure"
    /// The call's deadline or an attempt's timeout passed.
    case timeout
    /// No connection could be made.
    case connectFailure = "connect_failure"
    /// The circuit breaker rejected the call.
    case circuitOpen = "circuit_open"
    /// The bulkhead had no slot and no queue room (or the queue wait ran out).
    case bulkheadFull = "bulkhead_full"
    /// Every endpoint was ejected or unhealthy, or none was discovered.
    case noHealthyEndpoint = "no_healthy_endpoint"
}
