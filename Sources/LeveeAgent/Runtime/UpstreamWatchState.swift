public import LeveePolicy

/// What `Watch` shows of one upstream; two are compared to send only what changed.
public struct UpstreamWatchState: Hashable, Sendable {
    public var name: String
    public var breaker: CircuitBreaker.State
    public var source: BreakerSource
    public var inFlight: Int
    public var queued: Int
    public var healthyEndpoints: Int
    public var totalEndpoints: Int
    /// When an open breaker lets a probe through.
    public var retryAfter: Duration?
    public var peersReportingOpen: Int
}
