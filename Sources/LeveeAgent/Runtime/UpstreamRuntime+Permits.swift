import LeveeClock
import LeveeConfiguration
public import LeveePolicy
import Synchronization

extension UpstreamRuntime {
    /// `Acquire`: a permit for one attempt the app makes itself, under the same breaker, bulkhead,
    /// budget and deadline as guarded calls. The permit is a `GuardedCall` whose attempt the app makes:
    /// it waits in the lease table for the app's `Release` (or the lease's end) as its `attemptFinished`.
    public func acquire(_ request: PermitRequest) async -> PermitDecision {
        let start = clock.now()
        let leaseLength = request.lease ?? configuration.policy.timeouts.attempt
        var call = GuardedCall(
            policy: callPolicy,
            request: GuardedCall.Request(
                priority: request.priority,
                isIdempotent: true,
                timeout: request.timeout,
                frontDeadline: request.frontDeadline,
                maker: .app(retry: request.retry)
            ),
            now: start
        )
        var (step, grant) = advance(&call) { call, state throws(GuardedCallError) in
            try call.start(now: start, upstream: &state.policy, using: &state.rng)
        } then: { step, call, state in
            lease(step, call: call, length: leaseLength, now: start, in: &state)
        }
        while true {
            carryOut(step.effects, endpoint: grant?.endpoint)
            switch step.action {
            case .attempt:
                guard let grant else { preconditionFailure("\(name): an attempt without a lease") }
                if request.retry > 0 { metrics.recordRetry(allowed: true) }
                return .granted(grant)
            case .waitForSlot(let ticket, let until):
                (step, grant) = await queue(&call, for: ticket, until: until) { step, call, now, state in
                    lease(step, call: call, length: leaseLength, now: now, in: &state)
                }
            case .wait, .awaitAttempts:
                preconditionFailure("\(name): an app's call never waits in the agent, nor hedges")
            case .finish(let finish):
                return .denied(denial(finish, retry: request.retry))
            }
        }
    }

    /// Under the lock: a call that is to make its attempt becomes a lease, with its id drawn from the
    /// runtime's randomness.
    private func lease(
        _ step: GuardedCall.Step,
        call: GuardedCall,
        length: Duration,
        now: Instant,
        in state: inout State
    ) -> PermitGrant? {
        if step.effects.retry == .denied { state.counters.retriesDeniedByBudget += 1 }
        guard case .attempt(let attempt) = step.action else { return nil }
        if attempt.number > 1 { state.counters.retries += 1 } else { state.counters.calls += 1 }
        let id = "\(configuration.name)/\(state.rng.next().hex)\(state.rng.next().hex)"
        let backoff = call.appRetryDelay
        state.leases[id] = Lease(call: call, expiresAt: now + backoff + length)
        return PermitGrant(
            id: id,
            endpoint: attempt.endpoint.map { state.endpoints[$0] },
            backoff: backoff,
            lease: backoff + length
        )
    }

    private func denial(_ finish: GuardedCall.Finish, retry: Int) -> PermitDenial {
        switch finish.cause {
        case .breakerRejected(let rejection):
            metrics.reject(.circuitOpen)
            return PermitDenial(
                reason: .circuitOpen,
                retryAfter: rejection.retryAfter,
                detail: Self.describe(rejection)
            )
        case .bulkheadRejected(let rejection):
            metrics.reject(.bulkheadFull)
            return PermitDenial(reason: .bulkheadFull, detail: rejection.description)
        case .queueTimedOut(let waited):
            metrics.reject(.bulkheadFull)
            return PermitDenial(
                reason: .bulkheadFull,
                detail: "no slot freed within \(waited.configDescription) in the queue"
            )
        case .retryRefused(.attemptsExhausted):
            return PermitDenial(reason: .maxAttempts, detail: "retry \(retry) would exceed max_attempts")
        case .retryRefused(.budgetExhausted):
            return PermitDenial(reason: .retryBudgetExhausted, detail: "the retry budget is exhausted")
        case .retryRefused:
            return PermitDenial(reason: .deadline, detail: "no time left before the deadline for retry \(retry)")
        case .deadlineSpentOnArrival, .deadlinePassedInQueue, .noEndpoint, .lastAttempt:
            metrics.reject(.deadline)
            return PermitDenial(reason: .deadline, detail: "no time left before the deadline")
        }
    }

    /// `Release`: records how a permitted attempt ended and frees its slot. Returns the breaker's state
    /// after it, or `nil` when the permit is unknown (never granted, released already, or its lease
    /// expired).
    ///
    /// - Parameter duration: how long the attempt took, as the app measured it; nil: since the grant.
    public func release(permit id: String, result: PermitResult, duration: Duration?) -> CircuitBreaker.State? {
        let now = clock.now()
        let released = state.withLock { state -> (UpstreamRuntime.State.EndedLease, CircuitBreaker.State)? in
            guard let ended = state.endLease(id, .judged(result.outcome), duration: duration, now: now) else {
                return nil
            }
            state.counters.attempts += 1
            if case .finish(let finish) = ended.step.action { state.counters.count(finish.outcome) }
            return (ended, state.policy.breaker.state)
        }
        guard let (ended, breaker) = released else { return nil }
        for continuation in ended.woken { continuation.resume(returning: true) }
        let step = ended.step
        let address = ended.endpoint
        var effects = step.effects
        // The attempt's duration goes to the histogram only when the app measured it.
        effects.attemptRecorded = nil
        metrics.recordAttempt(duration: duration)
        carryOut(effects, endpoint: address)
        if let suspicion = ended.suspicion { note(suspicion) }
        return breaker
    }
}

extension UInt64 {
    /// Sixteen lowercase hex digits.
    var hex: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
