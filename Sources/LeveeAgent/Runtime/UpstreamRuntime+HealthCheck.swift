import LeveeClock
import LeveeConfiguration
import LeveePolicy
import Logging
import Synchronization

extension UpstreamRuntime {
    /// One active health check to run: the endpoint, its address, and the endpoint list it belongs to
    /// (a result for a list that discovery has since replaced is dropped).
    struct HealthCheck: Sendable {
        var endpoint: Int
        var address: EndpointAddress
        var endpointGeneration: UInt64
    }

    /// The tracker for `endpointCount` endpoints when `settings` asks for checks.
    static func makeHealthTracker(
        _ settings: HealthCheckConfiguration?,
        endpointCount: Int,
        now: Instant,
        rng: inout SplitMix64
    ) throws(ConfigurationError) -> HealthCheckTracker? {
        guard let settings else { return nil }
        return try HealthCheckTracker(configuration: settings, endpointCount: endpointCount, now: now, using: &rng)
    }

    /// Marks the checks due now as running and returns them, with when the next one is due (nil when
    /// the upstream has no checks, or all are running).
    func startDueHealthChecks() -> (checks: [HealthCheck], next: Instant?) {
        guard configuration.policy.healthCheck != nil else { return ([], nil) }
        let now = clock.now()
        return state.withLock { state in
            guard let due = state.health?.startDueChecks(now: now) else { return ([], nil) }
            let checks = due.map { endpoint in
                HealthCheck(
                    endpoint: endpoint,
                    address: state.endpoints[endpoint],
                    endpointGeneration: state.policy.endpointGeneration
                )
            }
            return (checks, state.health?.nextCheckTime)
        }
    }

    /// Runs `check` through the upstream's own executor and records its result. A check cut short by
    /// the agent's shutdown records nothing.
    func runHealthCheck(_ check: HealthCheck) async {
        guard let settings = configuration.policy.healthCheck,
            let result = await probe(check.address, settings: settings)
        else { return }
        record(result, of: check)
    }

    /// One check of `address`: `GET path` (2xx passes) or `grpc.health.v1.Health/Check` (`SERVING`
    /// passes); nil when it was cancelled.
    private func probe(_ address: EndpointAddress, settings: HealthCheckConfiguration) async -> HealthCheckResult? {
        let request = UpstreamRequest.healthCheck(settings, protocolKind: configuration.protocolKind)
        let result = await executor.execute(
            request,
            on: address,
            timeout: settings.timeout,
            remaining: settings.timeout
        )
        switch result {
        case .answered(let answer, _, _):
            return answer.healthCheckResult
        case .failed(.cancelledByCaller, _):
            return nil
        case .failed(.timeout, _):
            return .failed(detail: "timeout after \(settings.timeout.millisecondsRoundedUp) ms")
        case .failed(_, let detail):
            return .failed(detail: detail)
        }
    }

    /// Records how `check` ended: the tracker judges the endpoint, and its verdict goes to the outlier
    /// detector, which decides rotation (a failing endpoint is out; a passing one also ends an outlier
    /// ejection, as Envoy's `successful_active_health_check_uneject_host` does).
    func record(_ result: HealthCheckResult, of check: HealthCheck) {
        let now = clock.now()
        let (transition, event) = state.withLock { state -> (HealthCheckTransition?, OutlierEvent?) in
            guard check.endpointGeneration == state.policy.endpointGeneration, state.health != nil else {
                return (nil, nil)
            }
            let transition = state.health?.record(result, endpoint: check.endpoint, now: now)
            let event: OutlierEvent? =
                switch (result, state.health?.status(of: check.endpoint)) {
                case (.passed, .healthy):
                    state.policy.outliers.recordHealthCheck(endpoint: check.endpoint, passed: true, now: now)
                case (.failed, .unhealthy):
                    state.policy.outliers.recordHealthCheck(endpoint: check.endpoint, passed: false, now: now)
                default:
                    nil
                }
            return (transition, event)
        }
        noteHealth(transition, event: event, endpoint: check.address)
        if event != nil { changes?.notify() }
    }

    /// Logs a change of rotation that a health check made, one line with its cause, and tells the
    /// gossip pool as an ejection or restoration.
    private func noteHealth(_ transition: HealthCheckTransition?, event: OutlierEvent?, endpoint: EndpointAddress) {
        let name = configuration.name
        guard let event else {
            if let transition {
                logger.debug("endpoint \(endpoint) of \(name) is \(transition.to.rawValue)")
            }
            return
        }
        let times = transition.map { " \($0.consecutiveChecks) times" } ?? ""
        switch event.kind {
        case .failedHealthCheck:
            let cause = transition?.detail.map { " (\($0))" } ?? ""
            logger.info("endpoint \(endpoint) of \(name) failed its health check\(times)\(cause): out of rotation")
            events?.send(.endpoint(upstream: name, endpoint: endpoint.description, ejected: true))
        case .passedHealthCheck:
            logger.info("endpoint \(endpoint) of \(name) passed its health check\(times): back in rotation")
            events?.send(.endpoint(upstream: name, endpoint: endpoint.description, ejected: false))
        case .restored:
            logger.info(
                "endpoint \(endpoint) of \(name) passed its health check\(times): outlier ejection ended, back in rotation"
            )
            events?.send(.endpoint(upstream: name, endpoint: endpoint.description, ejected: false))
        case .ejected, .ejectionSkipped:
            break
        }
    }
}
