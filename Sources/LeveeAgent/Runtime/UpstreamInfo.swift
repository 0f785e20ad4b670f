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

    /// The adaptive limit of the bulkhead (`bulkhead.adaptive`).
    public struct Adaptive: Sendable {
        public var algorithm: String
        public var limit: Int
        public var min: Int
        public var max: Int
        /// The last sample's RTT and the long-term average (zero before the first sample).
        public var shortRTT: Duration
        public var longRTT: Duration
        public var samples: UInt64
    }

    public var name: String
    public var protocolName: String
    public var isDynamic: Bool
    public var breaker: Breaker
    public var inFlight: Int
    public var queued: Int
    /// The bulkhead's number of slots now: `max_concurrent`, or the adaptive limit.
    public var maxConcurrent: Int
    public var maxQueue: Int
    /// The critical-only slots now (their share of the adaptive limit, when there is one).
    public var reservedCritical: Int
    /// Nil for a fixed bulkhead.
    public var adaptive: Adaptive?
    public var budgetBalance: Int
    public var leases: Int
    public var recent: RecentLatencyWindow.Summary
    public var counters: UpstreamCounters
    public var peersReportingOpen: [String]
    public var discover: String
    public var endpoints: [Endpoint]
    /// The chaos faults active on this upstream.
    public var faults: [ActiveFault] = []
}
