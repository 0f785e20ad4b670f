import LeveePolicy
import LeveeTestKit
import PropertyBased
import Testing

/// The rules `GuardedCall` promises, over random configurations, random attempt results and random
/// interleavings of several calls that share one upstream's state, on a manual clock.
@Suite struct GuardedCallPropertyTests {
    @Test func everyCallKeepsTheRulesAndTheSharedStateEndsClean() async {
        await propertyCheck(count: 400, input: Gen.uint64()) { seed in
            var simulation = GuardedCallSimulation(seed: seed)
            simulation.run()
            for violation in simulation.violations {
                Issue.record("seed \(seed): \(violation)")
            }
        }
    }

    @Test func theSimulationSeesEveryKindOfStep() {
        // A property that holds because its steps never happen proves nothing: over a fixed set of
        // seeds, the simulation must reach retries, waits, queueing, refunds, rejections and app calls.
        var seen = GuardedCallSimulation.Coverage()
        for seed in UInt64(1)...300 {
            var simulation = GuardedCallSimulation(seed: seed)
            simulation.run()
            #expect(simulation.violations.isEmpty, "seed \(seed): \(simulation.violations)")
            seen.merge(simulation.coverage)
        }
        #expect(seen.retries > 0)
        #expect(seen.waits > 0)
        #expect(seen.queued > 0)
        #expect(seen.slotsHandedOver > 0)
        #expect(seen.queueTimeouts > 0)
        #expect(seen.refunds > 0)
        #expect(seen.budgetDenials > 0)
        #expect(seen.breakerRejections > 0)
        #expect(seen.appCalls > 0)
        #expect(seen.appRetriesRefused > 0)
        #expect(seen.nonIdempotentStops > 0)
        #expect(seen.deadlineStops > 0)
        #expect(seen.hedgesSent > 0)
        #expect(seen.hedgesWon > 0)
        #expect(seen.hedgesLost > 0)
        #expect(seen.hedgesSkipped > 0)
        #expect(seen.awaits > 0)
    }
}

/// Several calls to one upstream, driven event by event in time order on a manual clock, with attempt
/// results, durations, cancellations and the calls' order drawn from one seed.
struct GuardedCallSimulation {
    struct Coverage {
        var retries = 0
        var waits = 0
        var queued = 0
        var slotsHandedOver = 0
        var queueTimeouts = 0
        var refunds = 0
        var budgetDenials = 0
        var breakerRejections = 0
        var appCalls = 0
        var appRetriesRefused = 0
        var nonIdempotentStops = 0
        var deadlineStops = 0
        var hedgesSent = 0
        var hedgesWon = 0
        var hedgesLost = 0
        var hedgesSkipped = 0
        /// Steps that left a call waiting for attempts still out.
        var awaits = 0

        mutating func merge(_ other: Coverage) {
            hedgesSent += other.hedgesSent
            hedgesWon += other.hedgesWon
            hedgesLost += other.hedgesLost
            hedgesSkipped += other.hedgesSkipped
            awaits += other.awaits
            retries += other.retries
            waits += other.waits
            queued += other.queued
            slotsHandedOver += other.slotsHandedOver
            queueTimeouts += other.queueTimeouts
            refunds += other.refunds
            budgetDenials += other.budgetDenials
            breakerRejections += other.breakerRejections
            appCalls += other.appCalls
            appRetriesRefused += other.appRetriesRefused
            nonIdempotentStops += other.nonIdempotentStops
            deadlineStops += other.deadlineStops
        }
    }

    /// What a call waits for next.
    enum Pending {
        /// Attempts are out (`Live.out`), and maybe a hedge is due (`Live.hedgeAt`).
        case attempts
        case waitElapsed
        case waitCancelled
        /// Queued: woken by a handed-over slot, or denied at the queue deadline (or when the caller
        /// gives up, with `cancelAt`).
        case slot(Bulkhead.Ticket, cancelAt: Instant?)
        case done
    }

    /// An attempt out, its report drawn ahead, due at `dueAt`.
    struct Out {
        var number: Int
        var endpoint: Int?
        var report: AttemptReport
        var dueAt: Instant
    }

    struct Live {
        var call: GuardedCall
        var pending: Pending = .done
        var dueAt: Instant
        var out: [Out] = []
        var hedgeAt: Instant?
        var hedgesSent = 0

        /// When the call's next event is due: its earliest attempt's end or its hedge, when attempts
        /// are out.
        var nextDue: Instant {
            guard case .attempts = pending else { return dueAt }
            return (out.map(\.dueAt) + [hedgeAt].compactMap { $0 }).min() ?? dueAt
        }
        var maxAttempts: Int
        var isIdempotent: Bool
        /// Whether every attempt so far failed without reaching the upstream (connect failures).
        var nothingReachedUpstream = true
        var charged = 0
        var refunded = 0
        var finished = false
        var isApp: Bool
        /// For an app's call: 0 for a first attempt, n for retry n.
        var appRetry = 0
    }

    var rng: SeededRandom
    var clock = ManualClock()
    var upstream: UpstreamPolicyState
    let policy: GuardedCall.Policy
    let maxAttempts: Int
    let minAttemptTime: Duration
    let hedgeMax: Int
    /// Hedges that went out, all calls together.
    var hedgesSent = 0
    var calls: [Live] = []
    /// Retries that went out, all calls together.
    var retriesSent = 0
    /// With `ratio: 0` nothing is deposited, so the budget's balance falls by exactly one for each
    /// retry charged and not refunded: the real budget can be checked, not only what the steps say.
    let budgetIsReserveOnly: Bool
    let initialBalance: Int
    var violations: [String] = []
    var coverage = Coverage()

    init(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let attemptTimeout = Duration.milliseconds(Int64.random(in: 10...400, using: &rng))
        let total = attemptTimeout + .milliseconds(Int64.random(in: 0...1_500, using: &rng))
        let maxConcurrent = Int.random(in: 1...4, using: &rng)
        maxAttempts = Int.random(in: 1...5, using: &rng)
        minAttemptTime = .milliseconds(Int64.random(in: 0...20, using: &rng))
        let ratio = [0, 0, 0.1, 0.5, 1].randomElement(using: &rng)!
        let retry = RetryConfiguration(
            maxAttempts: maxAttempts,
            backoff: BackoffConfiguration(
                base: .milliseconds(Int64.random(in: 0...60, using: &rng)),
                max: .milliseconds(300),
                jitter: BackoffConfiguration.Jitter.allCases.randomElement(using: &rng)!
            ),
            budget: RetryBudgetConfiguration(
                ratio: ratio,
                minPerSecond: Int.random(in: 0...2, using: &rng)
            ),
            minAttemptTime: minAttemptTime
        )
        let retryPolicy = RetryPolicy(configuration: retry)
        // Half the upstreams hedge, after a fixed delay or the p95 each call is given at its start.
        let hedge: HedgeConfiguration? =
            Bool.random(using: &rng)
            ? HedgeConfiguration(
                delay: Bool.random(using: &rng) ? .fixed(.milliseconds(Int64.random(in: 1...150, using: &rng))) : .p95,
                max: Int.random(in: 1...2, using: &rng)
            ) : nil
        hedgeMax = hedge?.max ?? 0
        policy = GuardedCall.Policy(
            timeouts: TimeoutConfiguration(connect: attemptTimeout, attempt: attemptTimeout, total: total),
            retry: retryPolicy,
            fallbackOn: [.timeout, .upstreamFailure],
            hedge: hedge
        )
        // A breaker that trips easily and probes soon, so that calls meet it in every state.
        upstream = try! UpstreamPolicyState(
            breaker: CircuitBreakerConfiguration(
                window: .count(size: 4),
                minCalls: 2,
                failureRate: 50,
                openFor: .milliseconds(Int64.random(in: 20...200, using: &rng)),
                openForMax: .seconds(1),
                halfOpenCalls: Int.random(in: 1...2, using: &rng)
            ),
            bulkhead: BulkheadConfiguration(
                maxConcurrent: maxConcurrent,
                maxQueue: Int.random(in: 0...3, using: &rng),
                queueTimeout: .milliseconds(Int64.random(in: 0...300, using: &rng)),
                reservedCritical: Int.random(in: 0..<maxConcurrent, using: &rng)
            ),
            retry: retryPolicy,
            outlierDetection: OutlierDetectionConfiguration(
                consecutiveFailures: 2,
                baseEjectionTime: .milliseconds(100),
                maxEjectionTime: .seconds(1)
            ),
            loadBalancing: .defaults,
            endpointCount: Int.random(in: 0...3, using: &rng)
        )
        self.rng = rng
        budgetIsReserveOnly = ratio == 0
        initialBalance = upstream.budget.balance(now: clock.now)
    }

    mutating func run() {
        let callCount = Int.random(in: 1...8, using: &rng)
        // Calls arrive over the first second.
        var arrivals = (0..<callCount).map { _ in Duration.milliseconds(Int64.random(in: 0...1_000, using: &rng)) }
        arrivals.sort()
        var nextArrival = 0
        var steps = 0
        while steps < 2_000 {
            steps += 1
            let due = calls.indices.filter { !calls[$0].finished }.min { calls[$0].nextDue < calls[$1].nextDue }
            let arrival = nextArrival < arrivals.count ? ManualClock().now + arrivals[nextArrival] : nil
            if let arrival, due == nil || arrival <= calls[due!].nextDue {
                clock.advance(to: max(clock.now, arrival))
                nextArrival += 1
                arrive()
                continue
            }
            guard let index = due else { break }
            clock.advance(to: max(clock.now, calls[index].nextDue))
            deliver(to: index)
        }
        for (index, live) in calls.enumerated() where !live.finished {
            violations.append("call \(index) never finished")
        }
        let used = initialBalance - upstream.budget.balance(now: clock.now)
        if budgetIsReserveOnly, used != retriesSent + hedgesSent {
            violations.append("the budget fell by \(used) for \(retriesSent) retries and \(hedgesSent) hedges sent")
        }
        if upstream.bulkhead.inFlight != 0 { violations.append("\(upstream.bulkhead.inFlight) slots left taken") }
        if upstream.bulkhead.queued != 0 { violations.append("\(upstream.bulkhead.queued) calls left queued") }
        if upstream.breaker.probesOut != 0 { violations.append("\(upstream.breaker.probesOut) probes left out") }
        for endpoint in 0..<upstream.endpointCount where upstream.balancer.inFlight(endpoint) != 0 {
            violations.append("endpoint \(endpoint) left with attempts in flight")
        }
    }

    private mutating func arrive() {
        let isApp = Int.random(in: 0..<5, using: &rng) == 0
        let retry = isApp && Bool.random(using: &rng) ? Int.random(in: 1...4, using: &rng) : 0
        let request = GuardedCall.Request(
            priority: Priority.allCases.randomElement(using: &rng)!,
            isIdempotent: Bool.random(using: &rng),
            timeout: Bool.random(using: &rng) ? .milliseconds(Int64.random(in: 1...2_000, using: &rng)) : nil,
            frontDeadline: Bool.random(using: &rng)
                ? Deadline(clock.now + .milliseconds(Int64.random(in: 0...1_000, using: &rng))) : .none,
            maker: isApp ? .app(retry: retry) : .agent
        )
        var call = GuardedCall(policy: policy, request: request, now: clock.now)
        calls.append(
            Live(
                call: call,
                dueAt: clock.now,
                maxAttempts: maxAttempts,
                isIdempotent: request.isIdempotent,
                isApp: isApp,
                appRetry: retry
            )
        )
        if isApp { coverage.appCalls += 1 }
        let now = clock.now
        let p95: Duration? = Bool.random(using: &rng) ? .milliseconds(Int64.random(in: 1...200, using: &rng)) : nil
        let step = perform { upstream, rng in
            try call.start(now: now, upstream: &upstream, recentP95: p95, using: &rng)
        }
        apply(step, to: calls.count - 1, call: call)
    }

    private mutating func deliver(to index: Int) {
        var call = calls[index].call
        let now = clock.now
        let step: GuardedCall.Step?
        switch calls[index].pending {
        case .attempts:
            let first = calls[index].out.indices.min { calls[index].out[$0].dueAt < calls[index].out[$1].dueAt }
            if let hedgeAt = calls[index].hedgeAt, first == nil || hedgeAt <= calls[index].out[first!].dueAt {
                calls[index].hedgeAt = nil
                step = perform { upstream, rng in try call.hedgeDue(now: now, upstream: &upstream, using: &rng) }
                break
            }
            guard let first else {
                violations.append("a call waits for attempts with none out")
                step = nil
                break
            }
            let ended = calls[index].out.remove(at: first)
            let report = ended.report
            if case .failed(.connectFailure) = report {
            } else if case .judged = report {
            } else {
                calls[index].nothingReachedUpstream = false
            }
            // Which attempt ended is said only when several are out, as the lease shell does not.
            let number: Int? = calls[index].out.isEmpty && Bool.random(using: &rng) ? nil : ended.number
            step = perform { upstream, rng in
                try call.attemptFinished(report, attempt: number, now: now, upstream: &upstream, using: &rng)
            }
        case .waitElapsed:
            step = perform { upstream, rng in try call.waitElapsed(now: now, upstream: &upstream, using: &rng) }
        case .waitCancelled:
            step = perform { upstream, rng in try call.waitCancelled(now: now, upstream: &upstream) }
        case .slot(let ticket, let cancelAt):
            // The shell's two ways out of the queue: the queue deadline (popExpired), or the caller
            // giving up (cancel). A handed-over slot is delivered from `apply` at once.
            if let cancelAt, cancelAt <= now, upstream.bulkhead.cancel(ticket) {
                step = perform { upstream, rng in try call.slotDenied(now: now, upstream: &upstream) }
            } else {
                var expired = false
                while let popped = upstream.bulkhead.popExpired(now: now) {
                    if popped == ticket {
                        expired = true
                    } else if let other = calls.firstIndex(where: { live in
                        if case .slot(let queued, _) = live.pending { return queued == popped }
                        return false
                    }) {
                        // Another call expired at the same instant: it is due now too.
                        calls[other].dueAt = now
                        calls[other].pending = .slot(popped, cancelAt: now)
                    }
                }
                if expired || !upstream.bulkhead.isQueued(ticket) {
                    coverage.queueTimeouts += 1
                    step = perform { upstream, rng in try call.slotDenied(now: now, upstream: &upstream) }
                } else {
                    calls[index].dueAt = now + .milliseconds(1)
                    step = nil
                }
            }
        case .done:
            step = nil
        }
        if let step { apply(step, to: index, call: call) }
    }

    /// Runs one event; a thrown `GuardedCallError` is a broken rule.
    private mutating func perform(
        _ event: (inout UpstreamPolicyState, inout SeededRandom) throws -> GuardedCall.Step
    ) -> GuardedCall.Step? {
        var upstream = self.upstream
        var rng = self.rng
        defer {
            self.upstream = upstream
            self.rng = rng
        }
        do {
            return try event(&upstream, &rng)
        } catch {
            violations.append("\(error)")
            return nil
        }
    }

    private mutating func apply(_ step: GuardedCall.Step?, to index: Int, call: GuardedCall) {
        calls[index].call = call
        guard let step else {
            calls[index].finished = true
            return
        }
        let now = clock.now
        let deadline = call.deadline.instant
        switch step.effects.retry {
        case .charged?: calls[index].charged += 1
        case .refunded?:
            calls[index].refunded += 1
            coverage.refunds += 1
        case .denied?: coverage.budgetDenials += 1
        case nil: break
        }
        calls[index].charged += step.effects.hedges.sent
        coverage.hedgesWon += step.effects.hedges.won
        coverage.hedgesLost += step.effects.hedges.lost
        if step.effects.hedges.skipped != nil { coverage.hedgesSkipped += 1 }
        if let ticket = step.effects.slotHandedTo {
            coverage.slotsHandedOver += 1
            guard
                let other = calls.firstIndex(where: { live in
                    if case .slot(let queued, _) = live.pending { return queued == ticket }
                    return false
                })
            else {
                violations.append("a slot was handed to \(ticket), which no call waits for")
                return
            }
            // The woken call runs its slotGranted now (the shell resumes its continuation).
            var woken = calls[other].call
            calls[other].pending = .done
            let granted = perform { upstream, rng in try woken.slotGranted(now: now, upstream: &upstream, using: &rng) }
            apply(granted, to: other, call: woken)
        }
        switch step.action {
        case .attempt(let attempt):
            if attempt.isHedge {
                coverage.hedgesSent += 1
                calls[index].hedgesSent += 1
                if !calls[index].isIdempotent || calls[index].isApp {
                    violations.append("a hedge for a request that is not idempotent or that the app makes")
                }
                if step.effects.hedges.sent != 1 { violations.append("a hedge went out uncharged") }
                if calls[index].out.isEmpty { violations.append("a hedge with no attempt out") }
                if attempt.endpoint == nil || calls[index].out.contains(where: { $0.endpoint == attempt.endpoint }) {
                    violations.append("a hedge to an endpoint an attempt of the call is out to")
                }
            } else {
                if attempt.number > 1 { coverage.retries += 1 }
                if !calls[index].out.isEmpty { violations.append("a retry while attempts are out") }
            }
            if attempt.number > calls[index].maxAttempts + hedgeMax {
                violations.append(
                    "attempt \(attempt.number) past max_attempts \(calls[index].maxAttempts) + \(hedgeMax) hedges"
                )
            }
            if calls[index].hedgesSent > hedgeMax { violations.append("more than \(hedgeMax) hedges") }
            if now >= deadline || now + attempt.timeout > deadline {
                violations.append("attempt at \(now) with timeout \(attempt.timeout) past the deadline \(deadline)")
            }
            if attempt.number > 1, !calls[index].isIdempotent, !calls[index].nothingReachedUpstream,
                !calls[index].isApp
            {
                violations.append("a non-idempotent request that reached the upstream was sent again")
            }
            if attempt.endpoint == nil, !calls[index].isApp {
                violations.append("an agent's attempt without an endpoint")
            }
            let (report, took) = randomReport(attempt, isApp: calls[index].isApp)
            calls[index].pending = .attempts
            calls[index].out.append(
                Out(number: attempt.number, endpoint: attempt.endpoint, report: report, dueAt: now + took)
            )
            calls[index].hedgeAt = attempt.hedgeAt
            if let hedgeAt = attempt.hedgeAt, hedgeAt < now || hedgeAt >= deadline {
                violations.append("a hedge due at \(hedgeAt), outside now \(now) and the deadline \(deadline)")
            }
        case .awaitAttempts(let hedgeAt):
            coverage.awaits += 1
            if calls[index].out.isEmpty { violations.append("awaiting attempts with none out") }
            calls[index].pending = .attempts
            calls[index].hedgeAt = hedgeAt
        case .wait(let until):
            coverage.waits += 1
            if !calls[index].out.isEmpty { violations.append("a backoff while attempts are out") }
            if until > deadline || until < now {
                violations.append("a wait until \(until) past the deadline \(deadline) (now \(now))")
            }
            if Int.random(in: 0..<10, using: &rng) == 0 {
                calls[index].pending = .waitCancelled
                calls[index].dueAt = now + (until - now) / 2
            } else {
                calls[index].pending = .waitElapsed
                // The shell may wake a little late.
                calls[index].dueAt = until + .microseconds(Int64.random(in: 0...3_000, using: &rng))
            }
        case .waitForSlot(let ticket, let until):
            coverage.queued += 1
            if until > deadline { violations.append("a queue wait until \(until) past the deadline \(deadline)") }
            let cancelAt: Instant? =
                Int.random(in: 0..<5, using: &rng) == 0 ? now + (until - now) / 3 : nil
            calls[index].pending = .slot(ticket, cancelAt: cancelAt)
            calls[index].dueAt = cancelAt ?? until
        case .finish(let finish):
            calls[index].pending = .done
            calls[index].finished = true
            // The attempts still out lost: the shell abandons them, and reports nothing more.
            calls[index].out.removeAll()
            calls[index].hedgeAt = nil
            let live = calls[index]
            if finish.hedges != live.hedgesSent {
                violations.append("finish says \(finish.hedges) hedges, \(live.hedgesSent) went out")
            }
            // An agent's call sends attempts − 1 − hedges retries; an app's retry n is one retry once
            // granted.
            let retriesSent =
                live.isApp
                ? (live.appRetry > 0 && finish.attempts > live.appRetry ? 1 : 0)
                : max(0, finish.attempts - 1 - finish.hedges)
            if live.charged - live.refunded != retriesSent + live.hedgesSent {
                violations.append(
                    "budget charged \(live.charged), refunded \(live.refunded) for \(retriesSent) retries and "
                        + "\(live.hedgesSent) hedges sent"
                )
            }
            self.retriesSent += retriesSent
            self.hedgesSent += live.hedgesSent
            switch finish.cause {
            case .breakerRejected, .lastAttempt(_, stop: .breakerRefusedRetry): coverage.breakerRejections += 1
            case .retryRefused: coverage.appRetriesRefused += 1
            case .lastAttempt(_, stop: .retryPolicy(.notIdempotent)): coverage.nonIdempotentStops += 1
            case .lastAttempt(_, stop: .retryPolicy(.deadline)), .lastAttempt(_, stop: .deadlinePassedInBackoff):
                coverage.deadlineStops += 1
            default: break
            }
            if finish.fallback, finish.outcome == .ok { violations.append("a fallback for an OK call") }
        }
    }

    /// What the executor brings back, and after how long: never later than the attempt's timeout (an
    /// app may report later than that).
    private mutating func randomReport(
        _ attempt: GuardedCall.Attempt,
        isApp: Bool
    ) -> (AttemptReport, Duration) {
        var took = Duration.milliseconds(Int64.random(in: 0...500, using: &rng))
        let report: AttemptReport
        if isApp {
            report = .judged(
                [.success, .failure(.reset), .failure(.timeout), .ignored].randomElement(using: &rng)!
            )
        } else if took >= attempt.timeout {
            report = .failed(.timeout)
            took = attempt.timeout
        } else {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<3: report = .answered(.http(200), pushback: nil)
            case 3..<5: report = .answered(.http(503), pushback: nil)
            case 5: report = .answered(.http(503), pushback: .retry(after: .milliseconds(50)))
            case 6: report = .answered(.http(503), pushback: .doNotRetry)
            case 7: report = .failed(.connectFailure)
            case 8: report = .failed(.reset)
            default: report = .answered(.http(404), pushback: nil)
            }
        }
        return (report, took)
    }
}
