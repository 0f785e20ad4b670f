public import LeveeAPI
import LeveeConfiguration
import LeveeGossipNIO
public import LeveePolicy
import Synchronization

extension UpstreamRuntime {
    /// What `Watch` shows of this upstream.
    public func watchState() -> Levee_V1_UpstreamState {
        let now = clock.now()
        return state.withLock { state in
            var upstream = Levee_V1_UpstreamState()
            upstream.name = configuration.name
            upstream.breaker = state.breaker.state.proto
            upstream.source = state.breakerSource
            upstream.inFlight = UInt32(clamping: state.bulkhead.inFlight)
            upstream.queued = UInt32(clamping: state.bulkhead.queued)
            upstream.totalEndpoints = UInt32(clamping: state.endpoints.count)
            upstream.healthyEndpoints = UInt32(clamping: state.outliers.availableEndpoints(now: now).count)
            upstream.retryAfterMs = state.breaker.retryAfter(now: now)?.wireMilliseconds ?? 0
            upstream.peersReportingOpen = UInt32(clamping: state.peersReportingOpen.count)
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
    public func info() -> Levee_V1_UpstreamInfo {
        let now = clock.now()
        let policy = configuration.policy
        return state.withLock { state in
            var info = Levee_V1_UpstreamInfo()
            info.name = configuration.name
            info.protocol = configuration.protocolKind.rawValue
            info.dynamic = configuration.isDynamic
            let snapshot = state.breaker.snapshot(now: now)
            var breaker = Levee_V1_BreakerInfo()
            breaker.state = snapshot.state.proto
            breaker.source = state.breakerSource
            breaker.windowCalls = UInt32(clamping: snapshot.calls)
            breaker.windowFailures = UInt32(clamping: snapshot.failures)
            breaker.windowSlowCalls = UInt32(clamping: snapshot.slowCalls)
            breaker.failureRate = snapshot.failureRate
            breaker.slowCallRate = snapshot.slowCallRate
            breaker.retryAfterMs = state.breaker.retryAfter(now: now)?.wireMilliseconds ?? 0
            breaker.minCalls = UInt32(clamping: policy.breaker.minCalls)
            breaker.failureRateThreshold = policy.breaker.failureRate
            info.breaker = breaker
            info.inFlight = UInt32(clamping: state.bulkhead.inFlight)
            info.queued = UInt32(clamping: state.bulkhead.queued)
            info.maxConcurrent = UInt32(clamping: policy.bulkhead.maxConcurrent)
            info.maxQueue = UInt32(clamping: policy.bulkhead.maxQueue)
            info.budgetBalance = UInt32(clamping: state.budget.balance(now: now))
            info.leases = UInt32(clamping: state.leases.count)
            info.reservedCritical = UInt32(clamping: policy.bulkhead.reservedCritical)
            let recent = state.recent.summary(now: now)
            info.recentCalls = UInt32(clamping: recent.calls)
            info.recentFailures = UInt32(clamping: recent.failures)
            info.latencyP50Us = recent.p50.microseconds
            info.latencyP99Us = recent.p99.microseconds
            info.counters = state.counters
            info.peersReportingOpen = state.peersReportingOpen
            info.discover = configuration.discover ?? ""
            // The panic rule (LoadBalancer): when no endpoint is available, the balancer uses them all.
            let panic = (0..<state.endpoints.count).allSatisfy { !state.outliers.isAvailable($0, now: now) }
            info.endpoints = state.endpoints.enumerated().map { index, address in
                let health = state.outliers.snapshot(of: index, now: now)
                var endpoint = Levee_V1_EndpointInfo()
                endpoint.address = address.description
                endpoint.ejected = health.ejectedUntil != nil
                endpoint.inFlight = UInt32(clamping: state.balancer.inFlight(index))
                endpoint.consecutiveFailures = UInt32(clamping: health.consecutiveFailures)
                endpoint.ejectedForMs = health.ejectedUntil.map { ($0 - now).wireMilliseconds } ?? 0
                endpoint.health = (state.health?.status(of: index) ?? .unchecked).rawValue
                endpoint.healthDetail = state.health?.lastFailure(of: index) ?? ""
                endpoint.inRotation = panic || state.outliers.isAvailable(index, now: now)
                return endpoint
            }
            return info
        }
    }

    /// What the gauges of `/metrics` show of this upstream.
    struct GaugeSnapshot: Sendable {
        var breaker: CircuitBreaker.State
        var inFlight: Int
        var queued: Int
        var endpoints: Int
        var ejected: Int
        var budgetBalance: Int
    }

    /// The gauges now, taken under the lock at scrape time.
    func gaugeSnapshot() -> GaugeSnapshot {
        let now = clock.now()
        return state.withLock { state in
            GaugeSnapshot(
                breaker: state.breaker.state,
                inFlight: state.bulkhead.inFlight,
                queued: state.bulkhead.queued,
                endpoints: state.endpoints.count,
                ejected: state.endpoints.indices.count(where: { !state.outliers.isAvailable($0, now: now) }),
                budgetBalance: Int(state.budget.balance(now: now))
            )
        }
    }

    /// The breaker's state now, for status lines.
    public var breakerState: CircuitBreaker.State {
        state.withLock { $0.breaker.state }
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
    public var breakerSource: Levee_V1_StateSource {
        state.withLock { $0.breakerSource }
    }

    /// Logical calls and permits in progress.
    public var inProgress: Int {
        state.withLock { $0.callsInProgress + $0.leases.count }
    }
}
