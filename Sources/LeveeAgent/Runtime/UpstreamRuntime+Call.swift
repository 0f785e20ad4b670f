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
        /// An attempt to make now, at `address`, then ``attemptFinished(_:_:)``.
        case attempt(EndpointAddress, timeout: Duration, remaining: Duration)
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
        let (step, settled) = advance(&call) { call, state throws(GuardedCallError) in
            try call.start(now: start, upstream: &state.policy, using: &state.rng)
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
                if attempt.number > 1 { metrics.recordRetry(allowed: true) }
                progress.address = attempt.endpoint.flatMap { progress.ledger.addresses[$0] }
                guard let address = progress.address else {
                    attemptFinished(&progress, .failed(.connectFailure, detail: "the call was given no endpoint"))
                    continue
                }
                return .attempt(address, timeout: attempt.timeout, remaining: attempt.remaining)
            case .wait, .waitForSlot:
                return .wait
            }
        }
    }

    /// Records the result of the attempt ``next(_:)`` asked for.
    func attemptFinished(_ progress: inout CallInProgress, _ result: AttemptResult) {
        var ledger = progress.ledger
        ledger.last = result
        let now = clock.now()
        (progress.step, progress.settled) = advance(&progress.call) { call, state throws(GuardedCallError) in
            try call.attemptFinished(result.report, now: now, upstream: &state.policy, using: &state.rng)
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
            case .attempt(let address, let timeout, let remaining):
                let result = await executor.execute(
                    progress.request,
                    on: address,
                    timeout: timeout,
                    remaining: remaining
                )
                attemptFinished(&progress, result)
            case .wait:
                await wait(&progress)
            }
            step = next(&progress)
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
        case .attempt, .finish:
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
            endpoint: endpoint,
            elapsed: settled?.elapsed ?? clock.now() - ledger.start,
            retryAfter: nil,
            detail: ""
        )
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

/// One call's bookkeeping in the runtime's lock: counters, the stale cache, the latency window, and
/// the endpoint list the call's attempts index.
struct CallLedger {
    let start: Instant
    let cacheKey: String?
    /// The last attempt's result, with the answer's body.
    var last: AttemptResult?
    /// The endpoints as the call saw them at its last step (an attempt names an index into them).
    var addresses: [EndpointAddress] = []

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
            if attempt.number > 1 { state.counters.retries += 1 }
            addresses = state.endpoints
            return nil
        case .wait, .waitForSlot:
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
