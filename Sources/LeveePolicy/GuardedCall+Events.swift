extension GuardedCall {
    // MARK: Events

    /// The call arrives: the deadline is checked, then the breaker, then the bulkhead (DESIGN.md: the
    /// breaker first, so that an open breaker rejects at once, without queueing). An app's retry is
    /// first checked against `max_attempts` and the deadline, with its backoff drawn.
    public mutating func start(
        now: Instant,
        upstream: inout UpstreamPolicyState,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        guard case .idle = state else { throw unexpected("start") }
        var effects = Effects()
        if deadline.isExpired(now: now) {
            return try finish(.timeout, .deadlineSpentOnArrival, now: now, upstream: &upstream, effects)
        }
        if case .app(let retry) = request.maker, retry > 0 {
            attempts = retry
            backoff.resume(atRetry: retry)
            switch policy.retry.scheduleRetry(
                afterAttempts: retry,
                deadline: deadline,
                now: now,
                backoff: &backoff,
                using: &rng
            ) {
            case .wait(let delay):
                appRetryDelay = delay
            case .refused(let reason):
                let outcome: CallOutcome = reason == .deadline ? .timeout : .upstreamFailure
                return try finish(outcome, .retryRefused(reason), now: now, upstream: &upstream, effects)
            }
        }
        let permit: CircuitBreaker.Permit
        switch upstream.tryAcquireBreaker(now: now) {
        case .admitted(let admitted, let transition):
            permit = admitted
            effects.append(transition)
        case .rejected(let rejection):
            return try finish(.circuitOpen, .breakerRejected(rejection), now: now, upstream: &upstream, effects)
        }
        let queueDeadline = upstream.bulkhead.queueDeadline(callDeadline: deadline.instant, now: now)
        switch upstream.bulkhead.tryAcquire(priority: request.priority, queueDeadline: queueDeadline, now: now) {
        case .admitted:
            holdsSlot = true
            return try admitted(permit, now: now, upstream: &upstream, effects, using: &rng)
        case .queued(let ticket):
            state = .queued(permit, ticket, queueDeadline: queueDeadline)
            return Step(action: .waitForSlot(ticket, until: queueDeadline), effects: effects)
        case .rejected(let rejection):
            upstream.releaseBreaker(permit)
            return try finish(.bulkheadFull, .bulkheadRejected(rejection), now: now, upstream: &upstream, effects)
        }
    }

    /// The queued call got its slot (another call's finish handed it over).
    public mutating func slotGranted(
        now: Instant,
        upstream: inout UpstreamPolicyState,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        guard case .queued(let permit, _, _) = state else { throw unexpected("slotGranted") }
        holdsSlot = true
        return try admitted(permit, now: now, upstream: &upstream, Effects(), using: &rng)
    }

    /// The queued call got no slot: its queue deadline passed, or its caller gave up waiting (the shell
    /// took its ticket out of the queue).
    public mutating func slotDenied(
        now: Instant,
        upstream: inout UpstreamPolicyState
    ) throws(GuardedCallError) -> Step {
        guard case .queued(let permit, _, let queueDeadline) = state else { throw unexpected("slotDenied") }
        upstream.releaseBreaker(permit)
        return try finish(
            .bulkheadFull,
            .queueTimedOut(waited: queueDeadline - startedAt),
            now: now,
            upstream: &upstream,
            Effects()
        )
    }

    /// The attempt came back. Its outcome goes to the breaker, the outlier detector and the balancer;
    /// then the retry policy decides, charging the budget for a retry.
    ///
    /// - Parameter duration: how long the attempt took, when the one who made it measured it (an app's
    ///   `duration_us`); otherwise from the attempt's start to `now`.
    public mutating func attemptFinished(
        _ report: AttemptReport,
        duration: Duration? = nil,
        now: Instant,
        upstream: inout UpstreamPolicyState,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        guard case .attempting(let attempt) = state else { throw unexpected("attemptFinished") }
        var effects = Effects()
        let outcome = classify(report)
        let elapsed = duration ?? now - attempt.startedAt
        effects.append(upstream.recordBreaker(outcome, for: attempt.permit, duration: elapsed, now: now))
        if let endpoint = attempt.endpoint, attempt.endpointGeneration == upstream.endpointGeneration {
            effects.outlierEvent = upstream.outliers.record(endpoint: endpoint, outcome: outcome, now: now)
            upstream.balancer.onAttemptFinished(endpoint: endpoint)
        }
        effects.attemptRecorded = elapsed
        recordLatency(
            of: outcome,
            elapsed: elapsed,
            inFlight: attempt.inFlight,
            now: now,
            upstream: &upstream,
            &effects
        )
        last = report
        if case .app = request.maker {
            return try finish(last: report, .appDecides, now: now, upstream: &upstream, effects)
        }
        var status: UpstreamStatus?
        var pushback: ServerPushback?
        if case .answered(let answered, let said) = report {
            status = answered
            pushback = said
        }
        let decision = policy.retry.decide(
            outcome: outcome,
            status: status,
            isIdempotent: request.isIdempotent,
            attemptsMade: attempts,
            pushback: pushback,
            endpoint: attempt.endpoint ?? 0,
            deadline: deadline,
            now: now,
            budget: &upstream.budget,
            backoff: &backoff,
            using: &rng
        )
        switch decision {
        case .retry(let delay, _):
            effects.retry = .charged
            retryCharged = true
            if let endpoint = attempt.endpoint { avoiding.insert(endpoint) }
            if delay > .zero {
                state = .waiting(until: now + delay)
                return Step(action: .wait(until: now + delay), effects: effects)
            }
            return try nextAttempt(now: now, upstream: &upstream, effects, using: &rng)
        case .stop(let reason):
            if reason == .budgetExhausted { effects.retry = .denied }
            return try finish(last: report, .retryPolicy(reason), now: now, upstream: &upstream, effects)
        }
    }

    /// The backoff is over: the retry goes out, if the deadline, the breaker and the endpoints let it.
    public mutating func waitElapsed(
        now: Instant,
        upstream: inout UpstreamPolicyState,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        guard case .waiting = state else { throw unexpected("waitElapsed") }
        return try nextAttempt(now: now, upstream: &upstream, Effects(), using: &rng)
    }

    /// The caller went away during the backoff: the last result stands.
    public mutating func waitCancelled(
        now: Instant,
        upstream: inout UpstreamPolicyState
    ) throws(GuardedCallError) -> Step {
        guard case .waiting = state, let last else { throw unexpected("waitCancelled") }
        return try finish(last: last, .cancelledInBackoff, now: now, upstream: &upstream, Effects())
    }

    // MARK: Flow

    /// Breaker permit and bulkhead slot held: the budget learns of the call (an original request
    /// deposits, an app's retry withdraws), and the first attempt goes out.
    private mutating func admitted(
        _ permit: CircuitBreaker.Permit,
        now: Instant,
        upstream: inout UpstreamPolicyState,
        _ effects: Effects,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        var effects = effects
        if case .app(let retry) = request.maker, retry > 0 {
            guard upstream.budget.tryWithdraw(now: now) else {
                effects.retry = .denied
                upstream.releaseBreaker(permit)
                return try finish(
                    .upstreamFailure,
                    .retryRefused(.budgetExhausted),
                    now: now,
                    upstream: &upstream,
                    effects
                )
            }
            effects.retry = .charged
        } else {
            upstream.budget.deposit(now: now)
        }
        return try beginAttempt(permit, now: now, upstream: &upstream, effects, using: &rng)
    }

    /// A retry after its backoff: the deadline first (nothing is asked of the breaker for a retry that
    /// cannot go out), then the breaker, which must let a retry through as it would a new call.
    private mutating func nextAttempt(
        now: Instant,
        upstream: inout UpstreamPolicyState,
        _ effects: Effects,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        guard let last else { throw unexpected("a retry") }
        var effects = effects
        if deadline.isExpired(now: now) {
            return try finish(last: last, .deadlinePassedInBackoff, now: now, upstream: &upstream, effects)
        }
        switch upstream.tryAcquireBreaker(now: now) {
        case .admitted(let permit, let transition):
            effects.append(transition)
            return try beginAttempt(permit, now: now, upstream: &upstream, effects, using: &rng)
        case .rejected(let rejection):
            return try finish(last: last, .breakerRefusedRetry(rejection), now: now, upstream: &upstream, effects)
        }
    }

    /// Picks the endpoint, preferring one not tried yet, and sends the attempt with
    /// `min(timeouts.attempt, remaining)` as its timeout.
    private mutating func beginAttempt(
        _ permit: CircuitBreaker.Permit,
        now: Instant,
        upstream: inout UpstreamPolicyState,
        _ effects: Effects,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        if deadline.isExpired(now: now) {
            upstream.releaseBreaker(permit)
            return try finish(.timeout, .deadlinePassedInQueue, now: now, upstream: &upstream, effects)
        }
        var endpoint: Int?
        if upstream.endpointCount > 0 {
            endpoint = upstream.balancer.pick(
                outliers: upstream.outliers,
                now: now,
                avoiding: avoiding,
                using: &rng
            )
        }
        if endpoint == nil, case .agent = request.maker {
            upstream.releaseBreaker(permit)
            if let last {
                return try finish(last: last, .noEndpointForRetry, now: now, upstream: &upstream, effects)
            }
            return try finish(.noHealthyEndpoint, .noEndpoint, now: now, upstream: &upstream, effects)
        }
        if let endpoint { upstream.balancer.onAttemptStarted(endpoint: endpoint) }
        retryCharged = false
        attempts += 1
        lastEndpoint = endpoint
        state = .attempting(
            AttemptInFlight(
                permit: permit,
                endpoint: endpoint,
                endpointGeneration: upstream.endpointGeneration,
                startedAt: now,
                inFlight: upstream.bulkhead.inFlight
            )
        )
        let attempt = Attempt(
            number: attempts,
            endpoint: endpoint,
            timeout: deadline.attemptTimeout(configured: policy.timeouts.attempt, now: now),
            remaining: deadline.remaining(now: now)
        )
        return Step(action: .attempt(attempt), effects: effects)
    }

    /// Feeds the attempt to the bulkhead's adaptive limit: every attempt the upstream saw, a timeout as a
    /// drop; not a connect failure (nothing reached it) nor an ignored outcome (the app cancelled). When
    /// the limit rose, the new slots go to waiting calls at once.
    private mutating func recordLatency(
        of outcome: AttemptOutcome,
        elapsed: Duration,
        inFlight: Int,
        now: Instant,
        upstream: inout UpstreamPolicyState,
        _ effects: inout Effects
    ) {
        switch outcome {
        case .ignored, .failure(.connectFailure): return
        case .success, .failure: break
        }
        let sample = AdaptiveLimit.Sample(rtt: elapsed, inFlight: inFlight, dropped: outcome == .failure(.timeout))
        guard let change = upstream.recordLatency(sample) else { return }
        effects.limitChange = change
        while let ticket = upstream.bulkhead.admitWaiting(now: now) {
            effects.slotsOpenedTo.append(ticket)
        }
    }

    /// Ends the call on the last attempt's result.
    private mutating func finish(
        last report: AttemptReport,
        _ stop: Stop,
        now: Instant,
        upstream: inout UpstreamPolicyState,
        _ effects: Effects
    ) throws(GuardedCallError) -> Step {
        try finish(outcome(of: report), .lastAttempt(report, stop: stop), now: now, upstream: &upstream, effects)
    }

    /// Ends the call: a retry charged and not sent is refunded, the slot is handed on.
    private mutating func finish(
        _ outcome: CallOutcome,
        _ cause: FinishCause,
        now: Instant,
        upstream: inout UpstreamPolicyState,
        _ effects: Effects
    ) throws(GuardedCallError) -> Step {
        var effects = effects
        if retryCharged {
            retryCharged = false
            upstream.budget.refund(now: now)
            // Charged and refunded in one step: the budget is as it was.
            effects.retry = effects.retry == .charged ? nil : .refunded
        }
        if holdsSlot {
            holdsSlot = false
            do {
                effects.slotHandedTo = try upstream.bulkhead.release(priority: request.priority, now: now)
            } catch {
                throw unexpected("releasing its \(request.priority) slot (\(error))")
            }
        }
        state = .finished
        let finish = Finish(
            outcome: outcome,
            cause: cause,
            fallback: outcome != .ok && policy.fallbackOn.contains(outcome),
            attempts: attempts
        )
        return Step(action: .finish(finish), effects: effects)
    }

    // MARK: Judging

    private func classify(_ report: AttemptReport) -> AttemptOutcome {
        switch report {
        case .answered(let status, _): policy.classifier.classify(status)
        case .failed(let failure): policy.classifier.classify(failure)
        case .judged(let outcome): outcome
        }
    }

    /// The call's outcome when `report` is its last attempt's.
    func outcome(of report: AttemptReport) -> CallOutcome {
        switch report {
        case .answered(let status, _):
            policy.classifier.classify(status).isFailure ? .upstreamFailure : .ok
        case .failed(.connectFailure), .judged(.failure(.connectFailure)): .connectFailure
        case .failed(.timeout), .failed(.cancelledByCaller), .judged(.failure(.timeout)): .timeout
        case .failed(.reset), .judged(.failure): .upstreamFailure
        case .judged(.success), .judged(.ignored): .ok
        }
    }

    private func unexpected(_ event: String) -> GuardedCallError {
        let name =
            switch state {
            case .idle: "idle"
            case .queued: "queued for a slot"
            case .attempting: "attempting"
            case .waiting: "waiting out a backoff"
            case .finished: "finished"
            }
        return GuardedCallError(event: event, state: name)
    }
}
