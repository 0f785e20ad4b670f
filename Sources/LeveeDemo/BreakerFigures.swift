/// The payments breaker through a protected run, from the agent's samples.
struct BreakerFigures: Codable, Sendable, Equatable {
    /// A change of the breaker's state, at the first sample that showed it.
    struct Transition: Codable, Sendable, Equatable {
        var t: Double
        var from: String
        var to: String
    }

    var transitions: [Transition]
    /// When it first opened, and how many Payments calls had failed since Payments turned sick.
    var openedAt: Double?
    var failuresBeforeOpen: Int
    /// When it closed after Payments healed, and how long after the healing.
    var closedAt: Double?
    var closedAfterHealSeconds: Double?
    /// Whether it closed from half-open or open: through a probe (no operator forces it in the demo).
    var closedByProbe: Bool
    /// Whether a sample caught it half-open (a probe takes milliseconds once Payments is well, so a
    /// sample may miss it).
    var halfOpenSeen: Bool
    var openFor: Double

    /// The outcomes of Payments calls that count as the upstream's failures (what the breaker records).
    static let failureOutcomes: Set<String> = ["timeout", "upstream_failure", "connect_failure"]

    init(_ run: RunRecord) {
        var transitions: [Transition] = []
        var previous: String?
        for stat in run.agent {
            if let last = previous, last != stat.breaker {
                transitions.append(Transition(t: stat.t, from: last, to: stat.breaker))
            }
            previous = stat.breaker
        }
        self.transitions = transitions
        let opened = transitions.first { $0.to == "open" && $0.t >= run.sickAt }
        openedAt = opened?.t
        failuresBeforeOpen =
            run.samples.filter { sample in
                guard let payment = sample.payment, sample.sentAt >= run.sickAt else { return false }
                return sample.sentAt <= (opened?.t ?? run.end) && Self.failureOutcomes.contains(payment.outcome)
            }.count
        let closed = transitions.first { $0.to == "closed" && $0.t >= run.healAt }
        closedAt = closed?.t
        closedAfterHealSeconds = closed.map { $0.t - run.healAt }
        closedByProbe = closed.map { $0.from == "open" || $0.from == "half_open" } ?? false
        halfOpenSeen = transitions.contains { $0.to == "half_open" }
        openFor = run.settings.openFor
    }
}

/// The order pages' Payments calls while the breaker was open: all answered by the fallback, fast.
struct FallbackFigures: Codable, Sendable, Equatable {
    /// Payments calls made while the breaker was open (from its opening to Payments' healing).
    var calls: Int
    /// Of those, answered by the fallback.
    var byFallback: Int
    /// Those the open breaker refused (`circuit_open`), and their p99 and worst duration.
    var refusedByBreaker: Int
    var refusedP99Ms: Double?
    var refusedMaxMs: Double?

    init(_ run: RunRecord, openedAt: Double) {
        let calls = run.samples.compactMap { sample -> PaymentCall? in
            guard sample.sentAt >= openedAt, sample.sentAt < run.healAt else { return nil }
            return sample.payment
        }
        self.calls = calls.count
        byFallback = calls.filter(\.isFallback).count
        let refused = calls.filter { $0.outcome == "circuit_open" }
        refusedByBreaker = refused.count
        refusedP99Ms = percentile(99, of: refused.map(\.ms))
        refusedMaxMs = refused.map(\.ms).max()
    }
}
