/// The three phases of a run.
enum Phase: String, Codable, Sendable, CaseIterable {
    case before, during, after

    /// The phase's interval in a run: [0, sick), [sick, heal), [heal, end].
    func contains(_ t: Double, in run: RunRecord) -> Bool {
        switch self {
        case .before: t < run.sickAt
        case .during: t >= run.sickAt && t < run.healAt
        case .after: t >= run.healAt
        }
    }
}

/// One page in one phase: how many requests, how many succeeded, and the p99 latency.
struct PageFigures: Codable, Sendable, Equatable {
    var requests: Int
    var succeeded: Int
    /// 100 when there were no requests.
    var successPercent: Double
    /// Of every request, failed ones included (a failed one took the client's timeout, or less).
    var p99Ms: Double?

    init(_ samples: [Sample]) {
        requests = samples.count
        succeeded = samples.filter(\.succeeded).count
        successPercent = requests == 0 ? 100 : Double(succeeded) * 100 / Double(requests)
        p99Ms = percentile(99, of: samples.map(\.latencyMs))
    }
}

/// What one phase of a run measured.
struct PhaseFigures: Codable, Sendable, Equatable {
    var order: PageFigures
    var inventory: PageFigures
    /// The most workers busy at once, and waiting on Payments at once (Orders' `/stats`).
    var workersBusyMax: Int
    var workersOnPaymentsMax: Int
    /// The share of samples of Orders' pool with every worker busy, in percent.
    var saturatedPercent: Double
    /// The worst service level the agent reported (nil without an agent).
    var level: String?
    /// Payments calls answered by the agent's fallback instead of Payments.
    var paymentsByFallback: Int

    init(_ phase: Phase, of run: RunRecord) {
        let samples = run.samples.filter { phase.contains($0.sentAt, in: run) }
        order = PageFigures(samples.filter { $0.page == .order })
        inventory = PageFigures(samples.filter { $0.page == .inventory })
        let stats = run.orders.filter { phase.contains($0.t, in: run) }
        workersBusyMax = stats.map(\.busy).max() ?? 0
        workersOnPaymentsMax = stats.map(\.onPayments).max() ?? 0
        let saturated = stats.filter { $0.busy >= $0.workers }.count
        saturatedPercent = stats.isEmpty ? 0 : Double(saturated) * 100 / Double(stats.count)
        let levels = run.agent.filter { phase.contains($0.t, in: run) }.map(\.level)
        level = levels.max { ServiceLevelName.rank($0) < ServiceLevelName.rank($1) }
        paymentsByFallback = samples.filter { $0.payment?.isFallback == true }.count
    }
}

/// The agent's service levels, worst last.
enum ServiceLevelName {
    static func rank(_ level: String) -> Int {
        switch level {
        case "full": 1
        case "degraded": 2
        case "minimal": 3
        default: 0
        }
    }
}
