/// The knobs of a demo run: its phases, its load and Orders' pool.
public struct DemoSettings: Codable, Sendable, Equatable {
    /// Seconds before Payments turns sick, while it is sick, and after it heals.
    var before: Double
    var incident: Double
    var after: Double
    /// How long sick Payments waits before its 500 (the chapter's 10 s).
    var sickLatency: Double = 10
    /// Page requests per second of the load generator.
    var orderRate: Double = 40
    var inventoryRate: Double = 40
    /// Orders' fixed pool of workers, its accept queue and how long a request may wait in it.
    var workers: Int = 16
    var queueLimit: Int = 32
    var queueTimeout: Double = 1
    /// How long the load generator waits for a page before it counts it failed.
    var clientTimeout: Double = 2
    /// The payments breaker's `open_for` (and `open_for_max`: it does not grow in the demo).
    var openFor: Double = 2
    /// How often the orchestrator reads Orders' `/stats`, and the agent's `/metrics` (rendering them
    /// costs the agent far more than a call: read more often, they would slow the calls they watch).
    var sampleInterval: Double = 0.1
    var agentSampleInterval: Double = 0.25

    /// `levee demo`: 10 s before, 20 s sick, 15 s after (Orders' workers stay held up to 10 s past the
    /// healing in the unprotected run).
    public static let full = DemoSettings(before: 10, incident: 20, after: 15)
    /// `levee demo --quick`: the same 10 s latency, shorter phases and a lighter load (a test runs it on
    /// busy machines); both runs take about 45 s.
    public static let quick = DemoSettings(before: 3, incident: 6, after: 11, orderRate: 30, inventoryRate: 30)

    var duration: Double { before + incident + after }
}
