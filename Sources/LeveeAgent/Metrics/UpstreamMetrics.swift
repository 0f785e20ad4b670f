import CoreMetrics
import LeveePolicy

/// The counters and histograms of one upstream, made once per runtime through the agent's own
/// metrics factory and incremented where the events happen (outside the runtime's lock).
///
/// Every label value is made up front, so a scrape shows each outcome, cause and kind at 0 before the
/// first one happens (rate() and alerts then see the series from the start).
public struct UpstreamMetrics: Sendable {
    /// `levee_calls_total{upstream,outcome}`, by the outcome.
    let calls: [CallOutcome: Counter]
    let attempts: Counter
    let retries: Counter
    let retriesDenied: Counter
    /// `levee_hedges_total{upstream,result}`, by the result (`HedgeResult`).
    let hedges: [HedgeResult: Counter]
    let fallbacks: [FallbackKind: Counter]
    let rejections: [RejectionCause: Counter]
    let callDuration: Timer
    let attemptDuration: Timer
    /// `levee_bulkhead_limit_changes_total{upstream}`: how often the adaptive limit moved.
    let limitChanges: Counter
    /// `levee_bulkhead_limit_probes_total{upstream}`: how often Gradient2 halved the limit to measure
    /// the RTT at half the load.
    let limitProbes: Counter

    /// Why a call was refused without reaching the upstream: `levee_rejections_total{cause}`.
    public enum RejectionCause: String, CaseIterable, Sendable {
        case circuitOpen = "circuit_open"
        case bulkheadFull = "bulkhead_full"
        case deadline
        case noHealthyEndpoint = "no_healthy_endpoint"
    }

    /// What became of a hedge: `levee_hedges_total{result}`. A hedge sent ends as exactly one of
    /// `won`, `lost` or `failed`; the others count hedges that were due and not sent.
    public enum HedgeResult: String, CaseIterable, Sendable {
        /// Its answer was the call's.
        case won
        /// Another attempt answered first: it was abandoned.
        case lost
        /// It failed (another attempt may still have answered).
        case failed
        case budgetExhausted = "budget_exhausted"
        case breakerNotClosed = "breaker_not_closed"
        case noOtherEndpoint = "no_other_endpoint"
        case deadline

        init(_ skip: GuardedCall.HedgeSkip) {
            switch skip {
            case .budgetExhausted: self = .budgetExhausted
            case .breakerNotClosed: self = .breakerNotClosed
            case .noOtherEndpoint: self = .noOtherEndpoint
            case .deadline: self = .deadline
            }
        }
    }

    /// Metrics that go nowhere: for runtimes made without an agent (unit tests).
    public static let disabled = UpstreamMetrics(upstream: "", factory: NOOPMetricsHandler.instance)

    init(upstream: String, factory: any MetricsFactory) {
        let label = [("upstream", upstream)]
        /// One counter named `name` per key, told apart by the `dimension` label.
        func counters<Key: Hashable>(
            _ name: String,
            by dimension: String,
            _ keys: some Sequence<Key>,
            value: (Key) -> String
        ) -> [Key: Counter] {
            Dictionary(
                uniqueKeysWithValues: keys.map { key in
                    (key, Counter(label: name, dimensions: label + [(dimension, value(key))], factory: factory))
                }
            )
        }
        calls = counters(MetricName.calls, by: "outcome", CallOutcome.allCases) { $0.name }
        // The series chaos faults will count under: shown at 0 from the start, as every outcome is.
        _ = Counter(label: MetricName.calls, dimensions: label + [("outcome", "fault_injected")], factory: factory)
        attempts = Counter(label: MetricName.attempts, dimensions: label, factory: factory)
        retries = Counter(label: MetricName.retries, dimensions: label, factory: factory)
        retriesDenied = Counter(label: MetricName.retriesDenied, dimensions: label, factory: factory)
        hedges = counters(MetricName.hedges, by: "result", HedgeResult.allCases) { $0.rawValue }
        fallbacks = counters(MetricName.fallbacks, by: "kind", [.stale, .static]) { $0 == .stale ? "stale" : "static" }
        rejections = counters(MetricName.rejections, by: "cause", RejectionCause.allCases) { $0.rawValue }
        callDuration = Timer(label: MetricName.callDuration, dimensions: label, factory: factory)
        attemptDuration = Timer(label: MetricName.attemptDuration, dimensions: label, factory: factory)
        limitChanges = Counter(label: MetricName.bulkheadLimitChanges, dimensions: label, factory: factory)
        limitProbes = Counter(label: MetricName.bulkheadLimitProbes, dimensions: label, factory: factory)
    }

    /// The adaptive limit of the bulkhead moved (a probe's start counts as a probe too).
    func recordLimitChange(_ change: AdaptiveLimit.Change) {
        limitChanges.increment()
        if change.reason == .probeStarted { limitProbes.increment() }
    }

    /// A call ended: its outcome, its fallback, its duration.
    func recordCall(_ outcome: CallOutcome, fallback: FallbackKind?, duration: Duration) {
        calls[outcome]?.increment()
        if let fallback { fallbacks[fallback]?.increment() }
        callDuration.recordNanoseconds(duration.nanoseconds)
    }

    /// An attempt (a request sent to an endpoint) ended after `duration`.
    func recordAttempt(duration: Duration?) {
        attempts.increment()
        if let duration { attemptDuration.recordNanoseconds(duration.nanoseconds) }
    }

    /// A retry was decided (`true`), or the retry budget refused one (`false`).
    func recordRetry(allowed: Bool) {
        (allowed ? retries : retriesDenied).increment()
    }

    /// What a step did with hedges.
    func recordHedges(_ effects: GuardedCall.HedgeEffects) {
        if effects.won > 0 { hedges[.won]?.increment(by: Int64(effects.won)) }
        if effects.lost > 0 { hedges[.lost]?.increment(by: Int64(effects.lost)) }
        if effects.failed > 0 { hedges[.failed]?.increment(by: Int64(effects.failed)) }
        if let skipped = effects.skipped { hedges[HedgeResult(skipped)]?.increment() }
    }

    func reject(_ cause: RejectionCause) {
        rejections[cause]?.increment()
    }
}
