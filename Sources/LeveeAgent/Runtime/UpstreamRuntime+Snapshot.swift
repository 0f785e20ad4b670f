import LeveeClock
import LeveeConfiguration
public import LeveePolicy
import Synchronization

extension UpstreamRuntime {
    /// What `Watch` shows of this upstream.
    public func watchState() -> UpstreamWatchState {
        let now = clock.now()
        return state.withLock { state in
            var upstream = UpstreamWatchState(
                name: configuration.name,
                breaker: state.policy.breaker.state,
                source: state.policy.breakerSource,
                inFlight: state.policy.bulkhead.inFlight,
                queued: state.policy.bulkhead.queued,
                healthyEndpoints: state.policy.outliers.availableEndpoints(now: now).count,
                totalEndpoints: state.endpoints.count,
                retryAfter: state.policy.breaker.retryAfter(now: now),
                peersReportingOpen: state.peersReportingOpen.count
            )
            // Advisory: when enough peers say it is open and this agent has no evidence of its own,
            // the app sees what the fleet says.
            if upstream.breaker == .closed && state.peersReportingOpen.count >= state.peerQuorum {
                upstream.breaker = .open
                upstream.source = .peers
            }
            return upstream
        }
    }

    /// What `levee upstreams` shows: the live policy state and the counters.
    public func info() -> UpstreamInfo {
        let now = clock.now()
        let policy = configuration.policy
        var info = state.withLock { state in
            let outliers = state.policy.outliers
            // The panic rule (LoadBalancer): when no endpoint is available, the balancer uses them all.
            let panic = (0..<state.endpoints.count).allSatisfy { !outliers.isAvailable($0, now: now) }
            return UpstreamInfo(
                name: configuration.name,
                protocolName: configuration.protocolKind.rawValue,
                isDynamic: configuration.isDynamic,
                breaker: UpstreamInfo.Breaker(
                    state: state.policy.breaker.state,
                    source: state.policy.breakerSource,
                    snapshot: state.policy.breaker.snapshot(now: now),
                    retryAfter: state.policy.breaker.retryAfter(now: now),
                    minCalls: policy.breaker.minCalls,
                    failureRateThreshold: policy.breaker.failureRate
                ),
                inFlight: state.policy.bulkhead.inFlight,
                queued: state.policy.bulkhead.queued,
                maxConcurrent: state.policy.bulkhead.limit,
                maxQueue: policy.bulkhead.maxQueue,
                reservedCritical: state.policy.bulkhead.reservedCritical,
                adaptive: state.policy.adaptiveLimit.map { limiter in
                    UpstreamInfo.Adaptive(
                        algorithm: limiter.configuration.algorithm.rawValue,
                        limit: limiter.limit,
                        min: limiter.configuration.min,
                        max: limiter.configuration.max,
                        shortRTT: limiter.shortRTT,
                        longRTT: limiter.longRTT,
                        samples: limiter.samples
                    )
                },
                budgetBalance: state.policy.budget.balance(now: now),
                leases: state.leases.count,
                recent: state.recent.summary(now: now),
                counters: state.counters,
                peersReportingOpen: state.peersReportingOpen,
                discover: configuration.discover ?? "",
                endpoints: state.endpoints.enumerated().map { index, address in
                    let health = outliers.snapshot(of: index, now: now)
                    return UpstreamInfo.Endpoint(
                        address: address.description,
                        ejectedFor: health.ejectedUntil.map { $0 - now },
                        inFlight: state.policy.balancer.inFlight(index),
                        consecutiveFailures: health.consecutiveFailures,
                        health: (state.health?.status(of: index) ?? .unchecked).rawValue,
                        healthDetail: state.health?.lastFailure(of: index) ?? "",
                        inRotation: panic || outliers.isAvailable(index, now: now)
                    )
                }
            )
        }
        info.faults = faults?.list(upstream: configuration.name) ?? []
        return info
    }

    /// What the gauges of `/metrics` show of this upstream.
    struct GaugeSnapshot: Sendable {
        var breaker: CircuitBreaker.State
        var inFlight: Int
        var queued: Int
        var endpoints: Int
        var ejected: Int
        var budgetBalance: Int
        /// The bulkhead's number of slots now.
        var limit: Int
        /// The adaptive limit's RTT estimates, when the bulkhead has one.
        var adaptiveRTT: (short: Duration, long: Duration)?
    }

    /// The gauges now, taken under the lock at scrape time.
    func gaugeSnapshot() -> GaugeSnapshot {
        let now = clock.now()
        return state.withLock { state in
            GaugeSnapshot(
                breaker: state.policy.breaker.state,
                inFlight: state.policy.bulkhead.inFlight,
                queued: state.policy.bulkhead.queued,
                endpoints: state.endpoints.count,
                ejected: state.endpoints.indices.count(where: { !state.policy.outliers.isAvailable($0, now: now) }),
                budgetBalance: Int(state.policy.budget.balance(now: now)),
                limit: state.policy.bulkhead.limit,
                adaptiveRTT: state.policy.adaptiveLimit.map { ($0.shortRTT, $0.longRTT) }
            )
        }
    }

    /// The breaker's state now, for status lines.
    public var breakerState: CircuitBreaker.State {
        state.withLock { $0.policy.breaker.state }
    }

    /// Whether the breaker keeps calls out: open, half-open while it probes, or forced open. What the
    /// `degradation` rules call down.
    public var isDown: Bool {
        switch breakerState {
        case .open, .halfOpen, .forcedOpen: true
        case .closed, .forcedClosed: false
        }
    }

    /// Who decided the breaker's state: this agent's calls, its peers, or an operator.
    public var breakerSource: BreakerSource {
        state.withLock { $0.policy.breakerSource }
    }

    /// Logical calls and permits in progress.
    public var inProgress: Int {
        state.withLock { $0.callsInProgress + $0.leases.count }
    }
}
