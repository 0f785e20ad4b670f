extension GuardedCall {
    // MARK: Events

    /// The call arrives: the deadline is checked, then the breaker, then the bulkhead (DESIGN.md: the
    /// breaker first, so that an open breaker rejects at once, without queueing). An app's retry is
    /// first checked against `max_attempts` and the deadline, with its backoff drawn.
    ///
    /// - Parameter recentP95: the p95 of the upstream's recent latency as the shell measured it, for
    ///   `hedge.delay: p95`; nil when it has too few calls to say (then the call does not hedge).
    public mutating func start(
        now: Instant,
        upstream: inout UpstreamPolicyState,
        recentP95: Duration? = nil,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        guard case .idle = state else { throw unexpected("start") }
        self.recentP95 = recentP95
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

    /// An attempt came back. Its outcome goes to the breaker, the outlier detector and the balancer;
    /// then, when other attempts are still out (hedging), an answer that is not a failure wins and the
    /// others are abandoned, and a failure leaves the call waiting for them; when none is out, the retry
    /// policy decides, charging the budget for a retry.
    ///
    /// - Parameters:
    ///   - attempt: the number of the attempt that ended; nil when it is the only one out.
    ///   - duration: how long the attempt took, when the one who made it measured it (an app's
    ///     `duration_us`); otherwise from the attempt's start to `now`.
    public mutating func attemptFinished(
        _ report: AttemptReport,
        attempt number: Int? = nil,
        duration: Duration? = nil,
        now: Instant,
        upstream: inout UpstreamPolicyState,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        guard case .attempting(let out) = state, let (attempt, others) = out.removing(number) else {
            throw unexpected("attemptFinished(\(number.map(String.init) ?? "the only attempt"))")
        }
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
        decidingAttempt = attempt.number
        if case .app = request.maker {
            return try finish(last: report, .appDecides, now: now, upstream: &upstream, effects)
        }
        var status: UpstreamStatus?
        var pushback: ServerPushback?
        if case .answered(let answered, let said) = report {
            status = answered
            pushback = said
        }
        // The first answer that is not a failure (nor one the retry policy would send again, a listed
        // 429) wins (gRFC A6: the first OK cancels the rest).
        let wins = !outcome.isFailure && !policy.retry.isRetryable(outcome, status: status)
        if attempt.isHedge {
            if wins { effects.hedges.won += 1 } else { effects.hedges.failed += 1 }
        }
        if var others {
            if !wins {
                // gRFC A6: a "don't retry" pushback stops further hedges.
                if pushback == .doNotRetry { others.hedgeAt = nil }
                state = .attempting(others)
                return Step(action: .awaitAttempts(hedgeAt: others.hedgeAt), effects: effects)
            }
            abandon(others, upstream: &upstream, &effects)
            let reason: RetryStopReason = outcome == .ignored ? .ignored : .succeeded
            return try finish(last: report, .retryPolicy(reason), now: now, upstream: &upstream, effects)
        }
        let decision = policy.retry.decide(
            outcome: outcome,
            status: status,
            isIdempotent: request.isIdempotent,
            attemptsMade: attempts - hedges,
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

    /// No attempt has answered by the `hedgeAt` of the last step: a hedge goes to an endpoint none of
    /// the call's attempts is out to, if the breaker is closed, the deadline leaves time and the retry
    /// budget pays for it; otherwise no further hedge is sent until the next attempt.
    public mutating func hedgeDue(
        now: Instant,
        upstream: inout UpstreamPolicyState,
        using rng: inout some RandomNumberGenerator
    ) throws(GuardedCallError) -> Step {
        guard case .attempting(var out) = state, let hedgeAt = out.hedgeAt, now >= hedgeAt else {
            throw unexpected("hedgeDue")
        }
        out.hedgeAt = nil
        state = .attempting(out)
        var effects = Effects()
        func skip(_ reason: HedgeSkip, _ effects: inout Effects) -> Step {
            effects.hedges.skipped = reason
            return Step(action: .awaitAttempts(hedgeAt: nil), effects: effects)
        }
        let minAttemptTime = Swift.max(policy.retry.minAttemptTime, .nanoseconds(1))
        guard deadline.isNone || deadline.remaining(now: now) >= minAttemptTime else {
            return skip(.deadline, &effects)
        }
        // Only a closed breaker hedges (a forced-closed one is closed by an operator's word): a breaker
        // that is probing or open has better use for the upstream's capacity.
        guard upstream.breaker.state == .closed || upstream.breaker.state == .forcedClosed else {
            return skip(.breakerNotClosed, &effects)
        }
        var busy = avoiding
        for attempt in out.all { if let endpoint = attempt.endpoint { busy.insert(endpoint) } }
        guard upstream.endpointCount > 0,
            let endpoint = upstream.balancer.pick(outliers: upstream.outliers, now: now, avoiding: busy, using: &rng),
            !out.all.contains(where: { $0.endpoint == endpoint })
        else {
            return skip(.noOtherEndpoint, &effects)
        }
        let permit: CircuitBreaker.Permit
        switch upstream.tryAcquireBreaker(now: now) {
        case .admitted(let admitted, let transition):
            permit = admitted
            effects.append(transition)
        case .rejected:
            return skip(.breakerNotClosed, &effects)
        }
        guard upstream.budget.tryWithdraw(now: now) else {
            upstream.releaseBreaker(permit)
            return skip(.budgetExhausted, &effects)
        }
        upstream.balancer.onAttemptStarted(endpoint: endpoint)
        attempts += 1
        hedges += 1
        lastEndpoint = endpoint
        out.more.append(
            AttemptInFlight(
                number: attempts,
                isHedge: true,
                permit: permit,
                endpoint: endpoint,
                endpointGeneration: upstream.endpointGeneration,
                startedAt: now,
                inFlight: upstream.bulkhead.inFlight
            )
        )
        out.hedgeAt = nextHedgeAt(now: now)
        state = .attempting(out)
        effects.hedges.sent = 1
        let attempt = Attempt(
            number: attempts,
            endpoint: endpoint,
            timeout: deadline.attemptTimeout(configured: policy.timeouts.attempt, now: now),
            remaining: deadline.remaining(now: now),
            isHedge: true,
            hedgeAt: out.hedgeAt
        )
        return Step(action: .attempt(attempt), effects: effects)
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
        let hedgeAt = nextHedgeAt(now: now)
        state = .attempting(
            AttemptsInFlight(
                first: AttemptInFlight(
                    number: attempts,
                    isHedge: false,
                    permit: permit,
                    endpoint: endpoint,
                    endpointGeneration: upstream.endpointGeneration,
                    startedAt: now,
                    inFlight: upstream.bulkhead.inFlight
                ),
                hedgeAt: hedgeAt
            )
        )
        let attempt = Attempt(
            number: attempts,
            endpoint: endpoint,
            timeout: deadline.attemptTimeout(configured: policy.timeouts.attempt, now: now),
            remaining: deadline.remaining(now: now),
            hedgeAt: hedgeAt
        )
        return Step(action: .attempt(attempt), effects: effects)
    }

    /// When the next hedge is due after an attempt sent at `now`: nil when the call may not hedge (not
    /// idempotent, made by the app, `hedge.max` reached, no p95 yet for `delay: p95`) or when the hedge
    /// would leave less than `min_attempt_time` before the deadline.
    private func nextHedgeAt(now: Instant) -> Instant? {
        guard let hedge = policy.hedge, request.isIdempotent, case .agent = request.maker, hedges < hedge.max else {
            return nil
        }
        let delay: Duration
        switch hedge.delay {
        case .fixed(let fixed): delay = fixed
        case .p95:
            guard let recent = recentP95 else { return nil }
            delay = Swift.max(recent, .microseconds(1))
        }
        let at = now + delay
        if !deadline.isNone {
            let needed = Swift.max(policy.retry.minAttemptTime, .nanoseconds(1))
            guard delay + needed <= deadline.remaining(now: now) else { return nil }
        }
        return at
    }

    /// Gives back what the attempts still out hold, unrecorded: another attempt won, and the shell
    /// abandons these (a cancelled attempt says nothing about the upstream).
    private func abandon(_ out: AttemptsInFlight, upstream: inout UpstreamPolicyState, _ effects: inout Effects) {
        for attempt in out.all {
            upstream.releaseBreaker(attempt.permit)
            if let endpoint = attempt.endpoint, attempt.endpointGeneration == upstream.endpointGeneration {
                upstream.balancer.onAttemptFinished(endpoint: endpoint)
            }
            if attempt.isHedge { effects.hedges.lost += 1 }
        }
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
        guard let change = upstream.recordLatency(sample, now: now) else { return }
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
        var deciding: Int?
        if case .lastAttempt = cause { deciding = decidingAttempt }
        let finish = Finish(
            outcome: outcome,
            cause: cause,
            fallback: outcome != .ok && policy.fallbackOn.contains(outcome),
            attempts: attempts,
            hedges: hedges,
            decidingAttempt: deciding
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
            case .attempting(let out): out.count > 1 ? "attempting (\(out.count) out)" : "attempting"
            case .waiting: "waiting out a backoff"
            case .finished: "finished"
            }
        return GuardedCallError(event: event, state: name)
    }
}
