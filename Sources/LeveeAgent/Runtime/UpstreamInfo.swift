public import LeveePolicy

/// What `levee upstreams` shows of one upstream: its live policy state, endpoints and counters.
public struct UpstreamInfo: Sendable {
    /// The breaker's state and window.
    public struct Breaker: Sendable {
        public var state: CircuitBreaker.State
        public var source: BreakerSource
        public var snapshot: CircuitBreaker.Snapshot
        public var retryAfter: Duration?
        public var minCalls: Int
        public var failureRateThreshold: Double
    }

    /// One endpoint's health and load.
    public struct Endpoint: Sendable {
        public var address: String
        public var ejectedFor: Duration?
        public var inFlight: Int
        public var consecutiveFailures: Int
        /// The active health check's verdict (`unchecked` without checks) and its last failure.
        public var health: String
        public var healthDetail: String
        public var inRotation: Bool
    }

    public var name: String
    public var protocolName: String
    public var isDynamic: Bool
    public var breaker: Breaker
    public var inFlight: Int
    public var queued: Int
    public var maxConcurrent: Int
    public var maxQueue: Int
    public var reservedCritical: Int
    public var budgetBalance: Int
    public var leases: Int
    public var recent: RecentLatencyWindow.Summary
    public var counters: UpstreamCounters
    public var peersReportingOpen: [String]
    public var discover: String
    public var endpoints: [Endpoint]
}
