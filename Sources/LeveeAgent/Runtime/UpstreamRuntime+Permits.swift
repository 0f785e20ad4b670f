public import LeveeAPI
import LeveeConfiguration
import LeveeGossipNIO
public import LeveePolicy
import Synchronization

extension UpstreamRuntime {
    /// `Acquire`: a permit for one attempt the app makes itself, under the same breaker, bulkhead,
    /// budget and deadline as guarded calls. `attempt > 0` asks for retry `attempt`.
    public func acquire(_ request: Levee_V1_AcquireRequest, priority: Priority) async -> Levee_V1_AcquireResponse {
        let start = clock.now()
        let policy = configuration.policy
        let timeout: Duration? = request.timeoutMs > 0 ? .milliseconds(Int64(request.timeoutMs)) : nil
        let deadline = policy.timeouts.deadline(requested: timeout, now: start)
        let retry = Int(request.attempt)
        var response = Levee_V1_AcquireResponse()

        func deny(
            _ outcome: Levee_V1_Outcome,
            _ reason: Levee_V1_DenyReason,
            _ detail: String
        ) -> Levee_V1_AcquireResponse {
            response.granted = false
            response.deniedBy = outcome
            response.denyReason = reason
            response.detail = detail
            return response
        }

        var backoff = Duration.zero
        if retry > 0 {
            // A retry: max_attempts counts the first attempt, so retry n is attempt n + 1.
            guard retry < retryPolicy.configuration.maxAttempts else {
                return deny(.unspecified, .maxAttempts, "retry \(retry) would exceed max_attempts")
            }
            backoff = state.withLock { state in
                var draw = retryPolicy.makeBackoff()
                return draw.delay(forRetry: retry, using: &state.rng)
            }
            guard backoff + policy.retry.minAttemptTime < deadline.remaining(now: start) else {
                return deny(.timeout, .deadline, "no time left before the deadline for retry \(retry)")
            }
        }

        let permit: CircuitBreaker.Permit
        switch acquireBreaker() {
        case .admitted(let admitted, _):
            permit = admitted
        case .rejected(let rejection):
            response.retryAfterMs = rejection.retryAfter?.wireMilliseconds ?? 0
            metrics.reject(.circuitOpen)
            return deny(.circuitOpen, .circuitOpen, Self.describe(rejection))
        }
        if case .rejected(let reason) = await acquireSlot(priority: priority, deadline: deadline) {
            state.withLock { _ = $0.breaker.release(permit) }
            metrics.reject(.bulkheadFull)
            return deny(.bulkheadFull, .bulkheadFull, reason)
        }

        let now = clock.now()
        let leaseLength = request.leaseMs > 0 ? Duration.milliseconds(Int64(request.leaseMs)) : policy.timeouts.attempt
        let permitID =
            "\(configuration.name)/\(UInt64.random(in: .min ... .max).hex)\(UInt64.random(in: .min ... .max).hex)"
        let granted = state.withLock { state -> Bool in
            if retry > 0 {
                guard state.budget.tryWithdraw(now: now) else {
                    state.counters.retriesDeniedByBudget += 1
                    _ = state.breaker.release(permit)
                    return false
                }
                state.counters.retries += 1
            } else {
                state.budget.deposit(now: now)
                state.counters.calls += 1
            }
            var endpoint: Int?
            if !state.endpoints.isEmpty {
                endpoint = state.balancer.pick(outliers: state.outliers, now: now, using: &state.rng)
                if let endpoint { state.balancer.onAttemptStarted(endpoint: endpoint) }
            }
            state.leases[permitID] = Lease(
                permit: permit,
                priority: priority,
                endpoint: endpoint,
                endpointGeneration: state.endpointGeneration,
                grantedAt: now,
                expiresAt: now + backoff + leaseLength
            )
            if let endpoint { response.endpoint = state.endpoints[endpoint].description }
            return true
        }
        guard granted else {
            releaseSlot(priority: priority)
            metrics.recordRetry(allowed: false)
            return deny(.unspecified, .retryBudgetExhausted, "the retry budget is exhausted")
        }
        if retry > 0 { metrics.recordRetry(allowed: true) }
        response.granted = true
        response.permitID = permitID
        response.backoffMs = backoff.wireMilliseconds
        response.leaseMs = (backoff + leaseLength).wireMilliseconds
        return response
    }

    /// `Release`: records how a permitted attempt ended and frees its slot. Returns `nil` when the
    /// permit is unknown (never granted, released already, or its lease expired).
    public func release(_ request: Levee_V1_ReleaseRequest) -> Levee_V1_ReleaseResponse? {
        let now = clock.now()
        let outcome: AttemptOutcome =
            switch request.result {
            case .success: .success
            case .failure: .failure(.reset)
            case .timeout: .failure(.timeout)
            default: .ignored
            }
        let found = state.withLock {
            state -> (Lease, CircuitBreaker.Transition?, OutlierEvent?, EndpointAddress?, CircuitBreaker.State)? in
            guard let lease = state.leases.removeValue(forKey: request.permitID) else { return nil }
            let duration =
                request.durationUs > 0
                ? Duration.microseconds(Int64(clamping: request.durationUs)) : now - lease.grantedAt
            let transition = state.breaker.record(outcome, for: lease.permit, duration: duration, now: now)
            var event: OutlierEvent?
            var address: EndpointAddress?
            if let endpoint = lease.endpoint, lease.endpointGeneration == state.endpointGeneration {
                event = state.outliers.record(endpoint: endpoint, outcome: outcome, now: now)
                state.balancer.onAttemptFinished(endpoint: endpoint)
                address = state.endpoints[endpoint]
            }
            state.counters.attempts += 1
            switch outcome {
            case .success, .ignored: state.counters.ok += 1
            case .failure(.timeout): state.counters.timeout += 1
            case .failure: state.counters.upstreamFailure += 1
            }
            return (lease, transition, event, address, state.breaker.state)
        }
        guard let (lease, transition, event, address, breakerState) = found else { return nil }
        metrics.recordAttempt(
            duration: request.durationUs > 0 ? .microseconds(Int64(clamping: request.durationUs)) : nil
        )
        releaseSlot(priority: lease.priority)
        note(transition)
        note(event, endpoint: address)
        var response = Levee_V1_ReleaseResponse()
        response.breaker = breakerState.proto
        return response
    }
}

extension UInt64 {
    /// Sixteen lowercase hex digits.
    var hex: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
