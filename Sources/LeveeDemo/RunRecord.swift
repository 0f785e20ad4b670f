/// The two ways the demo runs Orders.
enum DemoMode: String, Codable, Sendable {
    /// Orders calls Inventory and Payments directly, with no timeouts at all.
    case unprotected
    /// Orders calls them through a Levee agent: breaker, bulkhead, timeouts, fallback, degradation.
    case protected
}

/// Orders' worker pool at one instant (its `/stats`).
struct OrdersStat: Codable, Sendable, Equatable {
    /// Seconds since the run's start.
    var t: Double
    var workers: Int
    /// Workers handling a request.
    var busy: Int
    /// Workers waiting on a call to Payments.
    var onPayments: Int
    /// Requests waiting for a worker.
    var queued: Int
}

/// The agent's view at one instant (its `/metrics`).
struct AgentStat: Codable, Sendable, Equatable {
    var t: Double
    /// The payments breaker: `closed`, `open`, `half_open`, `forced_open`, `forced_closed`.
    var breaker: String
    /// The service level: `full`, `degraded`, `minimal`.
    var level: String
}

/// Everything one run measured: what the load generator saw, Orders' pool and the agent over time,
/// and when Payments turned sick and healed. The analysis works on this alone.
struct RunRecord: Codable, Sendable, Equatable {
    var mode: DemoMode
    var settings: DemoSettings
    /// When Payments answered the switch to sick, and to healthy (seconds since the run's start).
    var sickAt: Double
    var healAt: Double
    var end: Double
    var samples: [Sample]
    var orders: [OrdersStat]
    /// Empty for the unprotected run.
    var agent: [AgentStat]
}
