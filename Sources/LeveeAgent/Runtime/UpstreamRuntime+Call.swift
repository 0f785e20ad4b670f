import LeveeClock
import LeveeConfiguration
public import LeveePolicy
import Synchronization

/// What the app asked for besides the request itself.
public struct GuardedCallOptions: Sendable {
    /// The app's own timeout (`timeout_ms`), if any.
    public var timeout: Duration?
    /// The deadline of the Guard RPC itself, if its client set one.
    public var rpcDeadline: Deadline
    public var priority: Priority
    /// Makes a non-idempotent request safe to retry.
    public var idempotencyKey: String
    /// The stale-fallback key; empty means derived from the request.
    public var cacheKey: String

    public init(
        timeout: Duration? = nil,
        rpcDeadline: Deadline = .none,
        priority: Priority = .normal,
        idempotencyKey: String = "",
        cacheKey: String = ""
    ) {
        self.timeout = timeout
        self.rpcDeadline = rpcDeadline
        self.priority = priority
        self.idempotencyKey = idempotencyKey
        self.cacheKey = cacheKey
    }
}

extension UpstreamRuntime {
    /// Makes one guarded call: drives a `GuardedCall` through its attempts, waits and queueing, and
    /// answers with the upstream's answer or the fallback. Never throws: every way it can end is an
    /// outcome.
    ///
    /// A call that gets a slot at once and needs one attempt takes the runtime's lock twice: once to
    /// be admitted and sent, once to be recorded and finished.
    public func call(_ request: UpstreamRequest, options: GuardedCallOptions) async -> CallResult {
        var call = begin(request, options: options)
        return await run(&call)
    }

    /// A call in progress: the `GuardedCall`, its last step, and the shell's bookkeeping. Driven by
    /// ``run(_:)``, or step by step (``next(_:)``, ``attemptFinished(_:_:)``) by a caller that makes
    /// the attempt itself.
    struct CallInProgress: Sendable {
        var call: GuardedCall
        var ledger: CallLedger
        var step: GuardedCall.Step
        var settled: CallLedger.Settled?
        let request: UpstreamRequest
        /// The endpoint of the attempt in progress or last made.
        var address: EndpointAddress?
    }

    /// What a call in progress needs next.
    enum NextStep: Sendable {
        /// The call has ended with this result.
        case finished(CallResult)
        /// An attempt to make now, at `address`, then ``attemptFinished(_:_:)``. With `hedgeAt`, the call
        /// may hedge; with `fault`, an injected chaos fault hits the attempt: only ``run(_:)`` drives
        /// such an attempt.
        case attempt(
            EndpointAddress,
            timeout: Duration,
            remaining: Duration,
            number: Int,
            hedgeAt: Instant?,
            fault: InjectedFault?
        )
        /// A wait (backoff, or a queue for a slot): for ``run(_:)``.
        case wait
    }

    /// Starts a call: admission, under the lock.
    func begin(_ request: UpstreamRequest, options: GuardedCallOptions) -> CallInProgress {
        let start = clock.now()
        // Only an upstream with a stale fallback keeps answers: no key to build otherwise (for gRPC it
        // would encode the whole message).
        let cacheKey = configuration.fallback.stale == nil ? nil : request.cacheKey(explicit: options.cacheKey)
        var call = GuardedCall(
            policy: callPolicy,
            request: GuardedCall.Request(
                priority: options.priority,
                isIdempotent: isIdempotent(request, idempotencyKey: options.idempotencyKey),
                timeout: options.timeout,
                frontDeadline: options.rpcDeadline
            ),
            now: start
        )
        var ledger = CallLedger(
            start: start,
            cacheKey: cacheKey,
            hasStaticFallback: configuration.fallback.static != nil
        )
        let hedgesOnP95 = configuration.policy.hedge?.delay == .p95
        let (step, settled) = advance(&call) { call, state throws(GuardedCallError) in
            let p95 = hedgesOnP95 ? state.hedgeP95(now: start) : nil
            return try call.start(now: start, upstream: &state.policy, recentP95: p95, using: &state.rng)
        } then: { step, _, state in
            state.counters.calls += 1
            state.callsInProgress += 1
            return ledger.bookkeep(step, now: start, in: &state)
        }
        return CallInProgress(call: call, ledger: ledger, step: step, settled: settled, request: request)
    }

    /// Carries out the last step's effects and says what the call needs next. An attempt that names
    /// no endpoint fails here as a connect failure, and the call goes on.
    func next(_ progress: inout CallInProgress) -> NextStep {
        while true {
            carryOut(progress.step.effects, endpoint: progress.address)
            switch progress.step.action {
            case .finish(let finish):
                return .finished(
                    result(
                        of: finish,
                        settled: progress.settled,
                        ledger: progress.ledger,
                        request: progress.request,
                        endpoint: progress.address
                    )
                )
            case .attempt(let attempt):
                if attempt.number > 1, !attempt.isHedge { metrics.recordRetry(allowed: true) }
                progress.address = attempt.endpoint.flatMap { progress.ledger.addresses[$0] }
                guard let address = progress.address else {
                    attemptFinished(
                        &progress,
                        .failed(.connectFailure, detail: "the call was given no endpoint"),
                        number: attempt.number
                    )
                    continue
                }
                return .attempt(
                    address,
                    timeout: attempt.timeout,
                    remaining: attempt.remaining,
                    number: attempt.number,
                    hedgeAt: attempt.hedgeAt,
                    fault: decideFault(progress.request, at: address)
                )
            case .wait, .waitForSlot:
                return .wait
            case .awaitAttempts:
                // Only a hedging call has attempts to await, and ``run(_:from:)`` drives it.
                preconditionFailure("\(configuration.name): next() while attempts are out")
            }
        }
    }

    /// Records the result of attempt `number`, which ``next(_:)`` (or ``hedgeDue(_:)``) asked for;
    /// `address` is where it went, when other attempts may have gone elsewhere since; `fault`, the
    /// injected fault that hit it.
    func attemptFinished(
        _ progress: inout CallInProgress,
        _ result: AttemptResult,
        number: Int,
        address: EndpointAddress? = nil,
        fault: FaultMark? = nil
    ) {
        var ledger = progress.ledger
        ledger.last = result
        if let fault {
            ledger.faultedAttempts += 1
            if fault.madeResult { ledger.faultsByAttempt[number] = fault.label }
        }
        if let address { progress.address = address }
        let now = clock.now()
        (progress.step, progress.settled) = advance(&progress.call) { call, state throws(GuardedCallError) in
            try call.attemptFinished(
                result.report,
                attempt: number,
                now: now,
                upstream: &state.policy,
                using: &state.rng
            )
        } then: { step, _, state in
            ledger.bookkeep(step, now: now, in: &state)
        }
        progress.ledger = ledger
    }

    /// Tells the call that its hedge is due (no attempt answered by the last step's `hedgeAt`).
    func hedgeDue(_ progress: inout CallInProgress) {
        var ledger = progress.ledger
        let now = clock.now()
        (progress.step, progress.settled) = advance(&progress.call) { call, state throws(GuardedCallError) in
            try call.hedgeDue(now: now, upstream: &state.policy, using: &state.rng)
        } then: { step, _, state in
            ledger.bookkeep(step, now: now, in: &state)
        }
        progress.ledger = ledger
    }

    /// Drives a call in progress to its end: attempts through the executor, waits on the clock.
    func run(_ progress: inout CallInProgress) async -> CallResult {
        await run(&progress, from: next(&progress))
    }

    /// Drives a call in progress to its end, starting with `step`, which ``next(_:)`` has just given.
    func run(_ progress: inout CallInProgress, from step: NextStep) async -> CallResult {
        var step = step
        while true {
            switch step {
            case .finished(let result):
                return result
            case .attempt(let address, let timeout, let remaining, let number, let hedgeAt?, let fault):
                await runHedging(
                    &progress,
                    first: (number, address, timeout, remaining, fault),
                    hedgeAt: hedgeAt
                )
            case .attempt(let address, let timeout, let remaining, let number, nil, let fault):
                let (result, mark) = await attempt(
                    progress.request,
                    on: address,
                    timeout: timeout,
                    remaining: remaining,
                    fault: fault
                )
                attemptFinished(&progress, result, number: number, fault: mark)
            case .wait:
                await wait(&progress)
            }
            step = next(&progress)
        }
    }

    /// One attempt of a hedging call: its number, where it goes, its timeout, the time left, and the
    /// injected fault that hits it.
    typealias HedgedAttempt = (
        number: Int, address: EndpointAddress, timeout: Duration, remaining: Duration, fault: InjectedFault?
    )

    /// Makes one attempt through the executor, through `fault` when one hits it; returns its result and,
    /// for a faulted attempt, what the call reports of the fault.
    func attempt(
        _ request: UpstreamRequest,
        on address: EndpointAddress,
        timeout: Duration,
        remaining: Duration,
        fault: InjectedFault?
    ) async -> (AttemptResult, FaultMark?) {
        guard let fault else {
            return (await executor.execute(request, on: address, timeout: timeout, remaining: remaining), nil)
        }
        let faulted = await executor.execute(
            request,
            on: address,
            timeout: timeout,
            remaining: remaining,
            fault: fault,
            clock: clock
        )
        return (faulted.result, FaultMark(label: fault.label, madeResult: faulted.madeByFault))
    }

    /// The injected fault that hits an attempt of `request` at `address`, if any (the fault table
    /// decides, and counts the hit). One atomic load when the agent has no fault.
    func decideFault(_ request: UpstreamRequest, at address: EndpointAddress) -> InjectedFault? {
        guard let faults, !faults.isEmpty else { return nil }
        return faults.decide(upstream: configuration.name, endpoint: address.description) {
            request.headerValue(named: $0)
        }
    }

    /// What a hedging call's task group hears: an attempt ended, or the hedge timer for an instant rang.
    private enum HedgingEvent: Sendable {
        case attemptEnded(number: Int, address: EndpointAddress, result: AttemptResult, fault: FaultMark?)
        case hedgeDue(at: Instant)
    }

    /// Drives a call that may hedge from its attempt `first` until no attempt of it is out: each
    /// attempt, and the timer for the next hedge, is a child task of one group; each attempt's end, and
    /// the timer's ring, is one event for the call. When the call finishes (the first answer that is not
    /// a failure won) or waits out a backoff, the group is cancelled: the attempts still out are
    /// abandoned (the executors close their connections), and the call has already given back what they
    /// held. Leaves the step that ended the round for ``next(_:)``, unhandled.
    private func runHedging(_ progress: inout CallInProgress, first: HedgedAttempt, hedgeAt: Instant?) async {
        let request = progress.request
        await withTaskGroup(of: HedgingEvent?.self) { group in
            var timerAt: Instant?
            func send(_ attempt: HedgedAttempt) {
                group.addTask { [self] in
                    let (result, mark) = await self.attempt(
                        request,
                        on: attempt.address,
                        timeout: attempt.timeout,
                        remaining: attempt.remaining,
                        fault: attempt.fault
                    )
                    return .attemptEnded(number: attempt.number, address: attempt.address, result: result, fault: mark)
                }
            }
            // A later step's hedgeAt replaces the earlier one: a timer that rings for an instant no
            // longer wanted is ignored.
            func arm(_ at: Instant?) {
                timerAt = at
                guard let at else { return }
                group.addTask { [clock] in
                    (try? await clock.sleep(until: at)) == nil ? nil : .hedgeDue(at: at)
                }
            }
            send(first)
            arm(hedgeAt)
            while let event = await group.next() {
                switch event {
                case .attemptEnded(let number, let address, let result, let fault)?:
                    attemptFinished(&progress, result, number: number, address: address, fault: fault)
                case .hedgeDue(let at)? where at == timerAt:
                    timerAt = nil
                    hedgeDue(&progress)
                case .hedgeDue?, nil:
                    continue
                }
                switch progress.step.action {
                case .attempt(let attempt):
                    carryOut(progress.step.effects, endpoint: progress.address)
                    if attempt.number > 1, !attempt.isHedge { metrics.recordRetry(allowed: true) }
                    guard let address = attempt.endpoint.flatMap({ progress.ledger.addresses[$0] }) else {
                        // Every attempt of an agent's call names an endpoint (GuardedCall ends a call
                        // with none); the list the call saw holds it.
                        preconditionFailure("\(configuration.name): an attempt without an address")
                    }
                    send(
                        (
                            attempt.number, address, attempt.timeout, attempt.remaining,
                            decideFault(request, at: address)
                        )
                    )
                    arm(attempt.hedgeAt)
                case .awaitAttempts(let at):
                    carryOut(progress.step.effects, endpoint: progress.address)
                    if at != timerAt { arm(at) }
                case .wait, .waitForSlot, .finish:
                    group.cancelAll()
                    return
                }
            }
        }
    }

    /// Waits as the last step asks (a backoff, or the queue for a slot), then tells the call.
    private func wait(_ progress: inout CallInProgress) async {
        switch progress.step.action {
        case .wait(let until):
            let cancelled = (try? await clock.sleep(until: until)) == nil
            let now = clock.now()
            var ledger = progress.ledger
            (progress.step, progress.settled) = advance(&progress.call) { call, state throws(GuardedCallError) in
                cancelled
                    ? try call.waitCancelled(now: now, upstream: &state.policy)
                    : try call.waitElapsed(now: now, upstream: &state.policy, using: &state.rng)
            } then: { step, _, state in
                ledger.bookkeep(step, now: now, in: &state)
            }
            progress.ledger = ledger
        case .waitForSlot(let ticket, let until):
            var ledger = progress.ledger
            (progress.step, progress.settled) = await queue(&progress.call, for: ticket, until: until) {
                step,
                _,
                now,
                state in
                ledger.bookkeep(step, now: now, in: &state)
            }
            progress.ledger = ledger
        case .attempt, .awaitAttempts, .finish:
            preconditionFailure("\(configuration.name): wait() without a wait to do")
        }
    }

    /// Whether `request` may be sent again after it reached the upstream.
    private func isIdempotent(_ request: UpstreamRequest, idempotencyKey: String) -> Bool {
        if !idempotencyKey.isEmpty { return true }
        switch request.idempotency {
        case .method(let method): return RequestIdempotency.isIdempotent(httpMethod: method, hasIdempotencyKey: false)
        case .grpcMethod(let method): return retryPolicy.isIdempotent(grpcMethod: method)
        }
    }

    /// The app's answer for a finished call, with the fallback the ledger found under the lock.
    private func result(
        of finish: GuardedCall.Finish,
        settled: CallLedger.Settled?,
        ledger: CallLedger,
        request: UpstreamRequest,
        endpoint: EndpointAddress?
    ) -> CallResult {
        var result = CallResult(
            outcome: finish.outcome,
            answer: nil,
            fallback: nil,
            attempts: finish.attempts,
            hedges: finish.hedges,
            decidingAttempt: finish.decidingAttempt,
            endpoint: endpoint,
            elapsed: settled?.elapsed ?? clock.now() - ledger.start,
            retryAfter: nil,
            detail: ""
        )
        result.doNotRetry = finish.callersShouldNotRetry
        switch finish.cause {
        case .deadlineSpentOnArrival:
            metrics.reject(.deadline)
            result.detail = "the deadline was already spent when the call arrived: nothing sent"
        case .breakerRejected(let rejection):
            metrics.reject(.circuitOpen)
            result.retryAfter = rejection.retryAfter
            result.detail = Self.describe(rejection)
        case .bulkheadRejected(let rejection):
            metrics.reject(.bulkheadFull)
            result.detail = rejection.description
        case .queueTimedOut(let waited):
            metrics.reject(.bulkheadFull)
            result.detail = "no slot freed within \(waited.configDescription) in the queue"
        case .deadlinePassedInQueue:
            metrics.reject(.deadline)
            result.detail = "the deadline passed while the call waited for a slot: nothing sent"
        case .noEndpoint:
            metrics.reject(.noHealthyEndpoint)
            result.detail = "the upstream has no endpoint to call"
        case .retryRefused(let reason):
            result.detail = Self.describe(reason, attempts: finish.attempts)
        case .lastAttempt(_, let stop):
            let stopDetail = Self.describe(stop, attempts: finish.attempts)
            switch ledger.last {
            case .answered(let answer, let status, _)?:
                result.answer = answer
                result.detail =
                    "upstream answered \(Self.describe(status))\(finish.outcome == .ok ? "" : stopDetail)"
            case .failed(.cancelledByCaller, let detail)?:
                result.detail = detail
            case .failed(_, let detail)?:
                result.detail = detail + stopDetail
            case nil:
                result.detail = "no endpoint was tried"
            }
        }
        switch settled?.fallback {
        case .stale(let answer, let age)?:
            result.answer = answer
            result.fallback = .stale
            result.detail += "; served the stale answer from \(age.configDescription) ago"
        case .static?:
            if let answer = configuration.fallback.`static` {
                result.answer = UpstreamResponse(staticFallback: answer, protocolKind: request.protocolKind)
                result.fallback = .static
                result.detail += "; served the static fallback"
            }
        case nil:
            break
        }
        result.faultedAttempts = ledger.faultedAttempts
        if let deciding = finish.decidingAttempt, let fault = ledger.faultsByAttempt[deciding] {
            result.fault = fault
            if !result.detail.contains("injected fault") { result.detail += " (injected fault \(fault))" }
        }
        metrics.recordCall(result.outcome, fallback: result.fallback, duration: result.elapsed)
        return result
    }

    static func describe(_ rejection: CircuitBreaker.Rejection) -> String {
        switch rejection {
        case .open(let retryAfter): "circuit open: next probe in \(retryAfter.millisecondsRoundedUp)ms"
        case .probesInFlight: "circuit half-open: the probe calls are out"
        case .forcedOpen: "circuit forced open by an operator"
        }
    }

    static func describe(_ status: UpstreamStatus) -> String {
        switch status {
        case .http(let code): "HTTP \(code)"
        case .grpc(let code): "gRPC status \(code)"
        }
    }

    static func describe(_ stop: GuardedCall.Stop, attempts: Int) -> String {
        switch stop {
        case .retryPolicy(let reason): describe(reason, attempts: attempts)
        case .breakerRefusedRetry(let rejection): "; no retry: \(describe(rejection))"
        case .noEndpointForRetry, .appDecides: ""
        case .deadlinePassedInBackoff: "; not retried: no time left before the deadline"
        case .cancelledInBackoff: "; cancelled during backoff"
        }
    }

    static func describe(_ reason: RetryStopReason, attempts: Int) -> String {
        switch reason {
        case .succeeded, .ignored: ""
        case .notRetryable: attempts > 1 ? " after \(attempts) attempts" : ""
        case .notIdempotent: "; not retried: the request is not idempotent (no idempotency key)"
        case .attemptsExhausted: " after \(attempts) attempts (max_attempts)"
        case .serverPushback: "; not retried: the upstream asked not to be"
        case .deadline: "; not retried: no time left before the deadline"
        case .budgetExhausted: "; not retried: the retry budget is exhausted"
        }
    }
}

/// What a call keeps of an injected fault that hit one of its attempts.
struct FaultMark: Sendable {
    /// `f3 abort 500`.
    var label: String
    /// Whether the fault made the attempt's result (false for a delay after which the upstream
    /// answered).
    var madeResult: Bool
}

/// One call's bookkeeping in the runtime's lock: counters, the stale cache, the latency window, and
/// the endpoint list the call's attempts index.
struct CallLedger {
    let start: Instant
    let cacheKey: String?
    /// The last attempt's result, with the answer's body.
    var last: AttemptResult?
    /// The endpoints as the call saw them at its last step (an attempt names an index into them).
    var addresses: [EndpointAddress] = []
    /// Attempts an injected fault hit.
    var faultedAttempts = 0
    /// The labels (`f3 abort 500`) of the faults that made an attempt's result, by attempt number.
    var faultsByAttempt: [Int: String] = [:]

    /// What the lock's last step found for a finished call.
    struct Settled {
        var elapsed: Duration
        var fallback: Fallback?
    }

    enum Fallback {
        case stale(UpstreamResponse, age: Duration)
        case `static`
    }

    /// Whether the upstream has a static fallback to answer with.
    let hasStaticFallback: Bool

    init(start: Instant, cacheKey: String?, hasStaticFallback: Bool) {
        self.start = start
        self.cacheKey = cacheKey
        self.hasStaticFallback = hasStaticFallback
    }

    /// Counts what `step` did and, when it finished the call, stores or looks up the stale answer and
    /// records the call's latency. Runs under the runtime's lock.
    mutating func bookkeep(_ step: GuardedCall.Step, now: Instant, in state: inout UpstreamRuntime.State) -> Settled? {
        if step.effects.attemptRecorded != nil { state.counters.attempts += 1 }
        if step.effects.retry == .denied { state.counters.retriesDeniedByBudget += 1 }
        switch step.action {
        case .attempt(let attempt):
            if attempt.number > 1, !attempt.isHedge { state.counters.retries += 1 }
            addresses = state.endpoints
            return nil
        case .wait, .waitForSlot, .awaitAttempts:
            return nil
        case .finish(let finish):
            state.callsInProgress -= 1
            state.counters.count(finish.outcome)
            let elapsed = now - start
            var settled = Settled(elapsed: elapsed, fallback: nil)
            state.recent.record(elapsed, failed: finish.outcome != .ok, now: now)
            if finish.outcome == .ok, let cacheKey, case .answered(let answer, _, _)? = last {
                state.stale?.store(answer, for: cacheKey, now: now)
            }
            if finish.fallback {
                if let cacheKey, let (answer, age) = state.stale?.lookup(cacheKey, now: now) {
                    settled.fallback = .stale(answer, age: age)
                    state.counters.count(.stale)
                } else if hasStaticFallback {
                    settled.fallback = .static
                    state.counters.count(.static)
                }
            }
            return settled
        }
    }
}

extension UpstreamRuntime.State {
    /// Calls in the window before `delay: p95` trusts its p95: fewer would make the tail a guess.
    static let hedgeP95MinimumCalls = 20
    /// How long one reading of the p95 stands, so that a call reads the window's bins at most ten
    /// times a second, not once per call.
    static let hedgeP95Refresh = Duration.milliseconds(100)

    /// The p95 of the upstream's recent calls, for `hedge.delay: p95`; nil while the window holds fewer
    /// than `hedgeP95MinimumCalls`.
    mutating func hedgeP95(now: Instant) -> Duration? {
        if now >= hedgeP95Until {
            let (calls, latency) = recent.quantile(0.95, now: now)
            hedgeP95 = calls >= Self.hedgeP95MinimumCalls ? latency : nil
            hedgeP95Until = now + Self.hedgeP95Refresh
        }
        return hedgeP95
    }
}
