import CoreMetrics
import LeveeGossip
import LeveeGossipNIO
import LeveePolicy
import Prometheus
import Synchronization

/// The names of the metrics the agent exports (Prometheus text format on `/metrics`). README.md
/// "Metrics and logs" says what each one means; `deploy/` uses them.
public enum MetricName {
    public static let calls = "levee_calls_total"
    public static let attempts = "levee_attempts_total"
    public static let retries = "levee_retries_total"
    public static let retriesDenied = "levee_retries_denied_total"
    public static let hedges = "levee_hedges_total"
    public static let fallbacks = "levee_fallbacks_total"
    public static let rejections = "levee_rejections_total"
    public static let callDuration = "levee_call_duration_seconds"
    public static let attemptDuration = "levee_attempt_duration_seconds"
    public static let breakerState = "levee_breaker_state"
    public static let breakerOpen = "levee_breaker_open"
    public static let inFlight = "levee_in_flight"
    public static let queued = "levee_queued"
    public static let endpoints = "levee_endpoints"
    public static let endpointsEjected = "levee_endpoints_ejected"
    public static let budgetBalance = "levee_budget_balance"
    /// The bulkhead's number of slots now: `max_concurrent`, or the adaptive limit.
    public static let bulkheadLimit = "levee_bulkhead_limit"
    /// The adaptive limit's RTT estimates (only upstreams with `bulkhead.adaptive`): the last sample's,
    /// and the long-term average.
    public static let bulkheadRTTShort = "levee_bulkhead_rtt_short_seconds"
    public static let bulkheadRTTLong = "levee_bulkhead_rtt_long_seconds"
    public static let bulkheadLimitChanges = "levee_bulkhead_limit_changes_total"
    /// Gradient2's probes: the limit halved for a few round trips to measure the RTT at half the load.
    public static let bulkheadLimitProbes = "levee_bulkhead_limit_probes_total"
    public static let serviceLevel = "levee_service_level"
    public static let gossipMembers = "levee_gossip_members"
    public static let gossipProbes = "levee_gossip_probes_total"
    public static let gossipSuspicions = "levee_gossip_suspicions_total"
    public static let gossipRefutations = "levee_gossip_refutations_total"
    public static let gossipBytes = "levee_gossip_bytes_total"
    public static let gossipDropped = "levee_gossip_dropped_total"
    public static let connectionsRefused = "levee_connections_refused_total"
    /// Limits on what callers control that were hit, by limit (its key under `listen`, such as
    /// `max_message_size` or `read_timeout`) and socket (`guard`, `admin`, `proxy`, `http`).
    public static let limitHits = "levee_limit_hits_total"
    /// Attempts an injected chaos fault hit, by upstream and kind (`abort`, `abort_grpc`, `reset`,
    /// `blackhole`, `delay`).
    public static let faultsInjected = "levee_faults_injected_total"
}

/// The agent's metrics: its own `PrometheusCollectorRegistry` and a swift-metrics factory over it,
/// never the global `MetricsSystem`, so that several agents in one process (tests) stay apart.
///
/// Counters and histograms are incremented where the events happen (`UpstreamMetrics`); gauges, and
/// the gossip counters the gossip node already keeps, are refreshed from snapshots at scrape time.
public final class AgentMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let gossipSeen = Mutex(GossipTotals())
    /// The upstreams whose gauges the last scrape set, so that those of upstreams a reload removed are
    /// withdrawn (a removed upstream's breaker must not stay open on a dashboard).
    private let upstreamsWithGauges = Mutex(Set<String>())

    /// The gossip node's counters at the last scrape, so that the exported counters grow by the
    /// difference.
    struct GossipTotals {
        var probes = 0
        var suspicions = 0
        var refutations = 0
        var bytesIn = 0
        var bytesOut = 0
        var dropped = 0
    }

    /// The histogram buckets of both duration histograms: 1 ms to 30 s.
    public static let durationBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        self.factory = factory
    }

    /// The counters and histograms of the upstream `name`.
    func upstream(_ name: String) -> UpstreamMetrics {
        UpstreamMetrics(upstream: name, factory: factory)
    }

    /// Counts one attempt that an injected fault of `kind` hit.
    func recordFault(upstream: String, kind: String) {
        Counter(
            label: MetricName.faultsInjected,
            dimensions: [("upstream", upstream), ("kind", kind)],
            factory: factory
        )
        .increment()
    }

    // MARK: Scrape

    /// Refreshes the gauges from the runtimes and the gossip node, then renders the text format
    /// (version 0.0.4).
    func render(registry upstreams: UpstreamRegistry, gossip: GossipNode?) -> [UInt8] {
        let runtimes = upstreams.runtimes()
        let names = Set(runtimes.map(\.name))
        let removed = upstreamsWithGauges.withLock { known in
            defer { known = names }
            return known.subtracting(names)
        }
        for name in removed {
            for gauge in Self.upstreamGauges {
                Gauge(label: gauge, dimensions: [("upstream", name)], factory: factory).destroy()
            }
        }
        for runtime in runtimes { refresh(runtime.gaugeSnapshot(), upstream: runtime.name) }
        // 1 FULL, 2 DEGRADED, 3 MINIMAL (ServiceLevel's raw values), under the degradation rules.
        Gauge(label: MetricName.serviceLevel, factory: factory).record(upstreams.serviceLevel().level.rawValue)
        if let gossip { refresh(gossip) }
        return registry.emitToBuffer()
    }

    /// The gauges each upstream has.
    static let upstreamGauges = [
        MetricName.breakerState, MetricName.breakerOpen, MetricName.inFlight, MetricName.queued,
        MetricName.endpoints, MetricName.endpointsEjected, MetricName.budgetBalance, MetricName.bulkheadLimit,
        MetricName.bulkheadRTTShort, MetricName.bulkheadRTTLong,
    ]

    private func refresh(_ snapshot: UpstreamRuntime.GaugeSnapshot, upstream: String) {
        let label = [("upstream", upstream)]
        func set(_ name: String, _ value: Int) {
            Gauge(label: name, dimensions: label, factory: factory).record(value)
        }
        set(MetricName.breakerState, snapshot.breaker.metricValue)
        set(MetricName.breakerOpen, snapshot.breaker.isHoldingBackTraffic ? 1 : 0)
        set(MetricName.inFlight, snapshot.inFlight)
        set(MetricName.queued, snapshot.queued)
        set(MetricName.endpoints, snapshot.endpoints)
        set(MetricName.endpointsEjected, snapshot.ejected)
        set(MetricName.budgetBalance, snapshot.budgetBalance)
        set(MetricName.bulkheadLimit, snapshot.limit)
        if let rtt = snapshot.adaptiveRTT {
            let seconds = { (duration: Duration) in Double(duration.nanoseconds) / 1e9 }
            Gauge(label: MetricName.bulkheadRTTShort, dimensions: label, factory: factory).record(seconds(rtt.short))
            Gauge(label: MetricName.bulkheadRTTLong, dimensions: label, factory: factory).record(seconds(rtt.long))
        }
    }

    /// The members by status (every status, 0 when none), and the node's own counters as they grew
    /// since the last scrape.
    private func refresh(_ node: GossipNode) {
        var byStatus = Dictionary(uniqueKeysWithValues: Self.memberStatuses.map { ($0, 0) })
        for member in node.members where byStatus["\(member.status)"] != nil { byStatus["\(member.status)"]! += 1 }
        for (status, count) in byStatus {
            Gauge(label: MetricName.gossipMembers, dimensions: [("status", status)], factory: factory).record(count)
        }
        let counters = node.counters
        let now = GossipTotals(
            probes: counters.membership.probes,
            suspicions: counters.membership.suspicions,
            refutations: counters.membership.refutations,
            bytesIn: counters.transport.bytesReceived,
            bytesOut: counters.transport.bytesSent,
            dropped: counters.transport.packetDrops.values.reduce(0, +)
        )
        let before = gossipSeen.withLock { seen in
            defer { seen = now }
            return seen
        }
        func grow(_ name: String, _ dimensions: [(String, String)] = [], by amount: Int) {
            let counter = Counter(label: name, dimensions: dimensions, factory: factory)
            if amount > 0 { counter.increment(by: amount) }
        }
        grow(MetricName.gossipProbes, by: now.probes - before.probes)
        grow(MetricName.gossipSuspicions, by: now.suspicions - before.suspicions)
        grow(MetricName.gossipRefutations, by: now.refutations - before.refutations)
        grow(MetricName.gossipBytes, [("direction", "in")], by: now.bytesIn - before.bytesIn)
        grow(MetricName.gossipBytes, [("direction", "out")], by: now.bytesOut - before.bytesOut)
        grow(MetricName.gossipDropped, by: now.dropped - before.dropped)
    }

    /// Serf's member statuses, each exported even at 0.
    static let memberStatuses = ["alive", "leaving", "left", "failed"]
}

extension CircuitBreaker.State {
    /// `levee_breaker_state`: 0 closed, 1 open, 2 half-open, 3 forced open, 4 forced closed.
    var metricValue: Int {
        switch self {
        case .closed: 0
        case .open: 1
        case .halfOpen: 2
        case .forcedOpen: 3
        case .forcedClosed: 4
        }
    }

    /// `levee_breaker_open`: 1 while the breaker holds back normal traffic (open, half-open while it
    /// probes, forced open), so that an alert on it does not flicker with each half-open probe.
    var isHoldingBackTraffic: Bool {
        switch self {
        case .open, .halfOpen, .forcedOpen: true
        case .closed, .forcedClosed: false
        }
    }
}
