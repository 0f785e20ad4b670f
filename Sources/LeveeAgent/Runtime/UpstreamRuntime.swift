public import LeveeClock
public import LeveeConfiguration
public import LeveePolicy
public import Logging
import Synchronization

/// One upstream's live policy state — breaker, bulkhead, retry budget, outlier detector, load
/// balancer, stale cache, permits — behind one lock, and the executor that reaches its endpoints.
///
/// Every call is a `GuardedCall` that this runtime drives: each event is one acquisition of the lock,
/// in which the pure core decides; sending, waiting, sleeping, logging and waking other callers happen
/// outside it. All processes of the service share this state through the agent.
public final class UpstreamRuntime: Sendable {
    public let configuration: UpstreamConfiguration
    let executor: any UpstreamExecutor
    let clock: any InstantClock
    let logger: Logger
    /// What each call is allowed, from the upstream's policy.
    let callPolicy: GuardedCall.Policy
    let retryPolicy: RetryPolicy
    let state: CountingMutex<State>
    let events: AgentEvents?
    /// Rung when something `Watch` shows may have changed.
    let changes: ChangeSignal?
    /// The counters and histograms this upstream exports (`levee_calls_total` and friends).
    let metrics: UpstreamMetrics
    /// The agent's chaos faults, asked at each attempt; nil: none are ever injected.
    let faults: FaultTable?
    /// Callers that the registry handed this runtime to and that have not yet handed it back
    /// (``UpstreamRegistry/withRuntime(named:protocolKind:_:)``): a reload that retires the runtime
    /// between the lookup and the call's first permit must not close its connections. Kept apart from
    /// the lock, so that a call takes the lock only for its own events.
    let checkouts = Atomic<Int>(0)
    /// When the adaptive limit's last change was logged, and the changes since that were not, so that a
    /// limit moving on every attempt logs at most one line a second. Apart from the lock, as `checkouts`.
    let limitLog = Mutex(LimitChangeLog())

    /// The mutable part, only touched under the lock.
    struct State: Sendable {
        /// Breaker, bulkhead, budget, outlier detector and balancer: what every call shares.
        var policy: UpstreamPolicyState
        /// The endpoints now: the configured ones, or those discovered in the gossip pool.
        var endpoints: [EndpointAddress]
        /// The active health checks of the endpoints, when the upstream has `health_check`.
        var health: HealthCheckTracker?
        var rng: SplitMix64
        var waiters: [UInt64: Waiter] = [:]
        var stale: StaleCache<UpstreamResponse>?
        var counters = UpstreamCounters()
        /// The calls that finished in the last 10 seconds, for `levee upstreams`.
        var recent = RecentLatencyWindow()
        /// Permits handed out by `Acquire`: each one an app-made call waiting for its `Release`.
        var leases: [String: Lease] = [:]
        var callsInProgress = 0
        /// The p95 of `recent` that calls hedge after (`hedge.delay: p95`), and until when it stands.
        var hedgeP95: Duration?
        var hedgeP95Until = Instant(nanoseconds: .min)
        /// Live peers whose latest report says this upstream's breaker is open, and the quorum that
        /// makes their word count (share: advisory shows it, follow acts on it).
        var peersReportingOpen: [String] = []
        var peerQuorum = Int.max
        /// Live peers whose suspicion of this upstream stands (they saw failures in a row).
        var peersSuspecting: [String] = []
        /// `gossip.suspect_after` (0: no gossip, or suspicion off), and whether `share` is `follow`.
        var suspectAfter = 0
        var follows = false

        /// A permit's call after its attempt was reported: its last step, its endpoint, and the queued
        /// calls its freed slot (or a rise of the adaptive limit) went to (to resume outside the lock).
        struct EndedLease {
            var step: GuardedCall.Step
            var endpoint: EndpointAddress?
            var woken: [CheckedContinuation<Bool, Never>]
            /// The failure streak the attempt's report completed, if it reached `suspect_after`.
            var suspicion: Suspicion?
        }

        /// Ends the permit `id` with its attempt's `report` (the app's `Release`, or a timeout when the
        /// lease ran out): the call records the attempt and finishes, freeing its slot. Nil for a permit
        /// that is not (or no longer) in the table.
        mutating func endLease(
            _ id: String,
            _ report: AttemptReport,
            duration: Duration?,
            now: Instant
        ) -> EndedLease? {
            guard var lease = leases.removeValue(forKey: id) else { return nil }
            let streak = policy.breaker.failureStreak
            let step: GuardedCall.Step
            do {
                step = try lease.call.attemptFinished(
                    report,
                    duration: duration,
                    now: now,
                    upstream: &policy,
                    using: &rng
                )
            } catch {
                preconditionFailure("\(error)")
            }
            // The endpoint list may have been replaced (discovery) since the permit was granted.
            let endpoint = lease.call.lastEndpoint.flatMap { endpoints.indices.contains($0) ? endpoints[$0] : nil }
            let woken = wake(after: step)
            return EndedLease(
                step: step,
                endpoint: endpoint,
                woken: woken,
                suspicion: suspicion(after: streak, now: now)
            )
        }

        /// The queued calls that `step` handed a slot to (its freed one, or those a rise of the adaptive
        /// limit opened), to resume outside the lock.
        mutating func wake(after step: GuardedCall.Step) -> [CheckedContinuation<Bool, Never>] {
            var woken: [CheckedContinuation<Bool, Never>] = []
            if let ticket = step.effects.slotHandedTo, let continuation = resolve(ticket.id, granted: true) {
                woken.append(continuation)
            }
            for ticket in step.effects.slotsOpenedTo {
                if let continuation = resolve(ticket.id, granted: true) { woken.append(continuation) }
            }
            return woken
        }

        /// Hands the outcome of a queued call's wait to its waiter: returns the continuation to resume
        /// (outside the lock), or keeps the outcome for a waiter that has not registered yet.
        mutating func resolve(_ ticket: UInt64, granted: Bool) -> CheckedContinuation<Bool, Never>? {
            if case .waiting(let continuation)? = waiters.removeValue(forKey: ticket) {
                return continuation
            }
            waiters[ticket] = .resolved(granted)
            return nil
        }
    }

    /// A call waiting in the bulkhead queue, or the outcome of its wait when that came first.
    enum Waiter: Sendable {
        case waiting(CheckedContinuation<Bool, Never>)
        case resolved(Bool)
    }

    /// A permit handed out by `Acquire`, alive until `Release` or its lease ends: the app's call,
    /// waiting for its attempt's result.
    struct Lease: Sendable {
        var call: GuardedCall
        var expiresAt: Instant
    }

    /// - Parameters:
    ///   - randomSeed: the seed of the runtime's randomness (jitter, endpoint choice, permit ids).
    public init(
        configuration: UpstreamConfiguration,
        executor: any UpstreamExecutor,
        clock: any InstantClock,
        randomSeed: UInt64,
        logger: Logger,
        events: AgentEvents? = nil,
        changes: ChangeSignal? = nil,
        metrics: UpstreamMetrics = .disabled,
        faults: FaultTable? = nil
    ) throws(ConfigurationError) {
        let policy = configuration.policy
        try policy.validate()
        self.configuration = configuration
        self.executor = executor
        self.clock = clock
        self.events = events
        self.changes = changes
        self.metrics = metrics
        self.faults = faults
        var logger = logger
        logger[metadataKey: "upstream"] = "\(configuration.name)"
        self.logger = logger
        retryPolicy = RetryPolicy(configuration: policy.retry)
        callPolicy = GuardedCall.Policy(
            timeouts: policy.timeouts,
            retry: retryPolicy,
            classifier: OutcomeClassifier(configuration: policy.classify),
            fallbackOn: configuration.fallback.isEnabled ? Set(configuration.fallback.on.map(CallOutcome.init)) : [],
            hedge: policy.hedge
        )
        let endpointCount = configuration.endpoints.count
        var rng = SplitMix64(seed: randomSeed)
        let health = try Self.makeHealthTracker(
            policy.healthCheck,
            endpointCount: endpointCount,
            now: clock.now(),
            rng: &rng
        )
        state = CountingMutex(
            State(
                policy: try UpstreamPolicyState(
                    breaker: policy.breaker,
                    bulkhead: policy.bulkhead,
                    retry: retryPolicy,
                    outlierDetection: policy.outlierDetection,
                    loadBalancing: policy.loadBalancing,
                    endpointCount: endpointCount
                ),
                endpoints: configuration.endpoints,
                health: health,
                rng: rng,
                stale: configuration.fallback.stale.map {
                    StaleCache(maxAge: $0.maxAge, capacity: $0.maxEntries)
                }
            )
        )
    }

    public var name: String { configuration.name }

    /// How many times this runtime's lock has been taken since it was made.
    public var lockAcquisitions: UInt64 {
        state.acquisitions
    }

    // MARK: Driving a call

    /// Runs one `GuardedCall` event under the lock, with `body` for the shell's own bookkeeping in the
    /// same acquisition; then, outside the lock, wakes the queued call the step handed a slot to. An
    /// event the call does not expect is a bug in this shell.
    func advance<Extra>(
        _ call: inout GuardedCall,
        _ event: (inout GuardedCall, inout State) throws(GuardedCallError) -> GuardedCall.Step,
        then body: (GuardedCall.Step, GuardedCall, inout State) -> Extra
    ) -> (GuardedCall.Step, Extra) {
        typealias Advanced = (
            GuardedCall.Step, Extra, GuardedCall, [CheckedContinuation<Bool, Never>], State.Suspicion?
        )
        let result: Result<Advanced, GuardedCallError> = state.withLock { state in
            var local = call
            let streak = state.policy.breaker.failureStreak
            do throws(GuardedCallError) {
                let step = try event(&local, &state)
                let extra = body(step, local, &state)
                let woken = state.wake(after: step)
                let suspicion = state.suspicion(after: streak, now: clock.now())
                return .success((step, extra, local, woken, suspicion))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let (step, extra, advanced, woken, suspicion)):
            call = advanced
            for continuation in woken { continuation.resume(returning: true) }
            if let suspicion { note(suspicion) }
            return (step, extra)
        case .failure(let error):
            preconditionFailure("\(configuration.name): \(error)")
        }
    }

    /// What a step leaves for the shell outside the lock: logs, gossip, metrics.
    func carryOut(_ effects: GuardedCall.Effects, endpoint address: EndpointAddress?) {
        for transition in effects.transitions { note(transition) }
        note(effects.outlierEvent, endpoint: address)
        if let duration = effects.attemptRecorded { metrics.recordAttempt(duration: duration) }
        if effects.retry == .denied { metrics.recordRetry(allowed: false) }
        if !effects.hedges.isEmpty { metrics.recordHedges(effects.hedges) }
        if let change = effects.limitChange { note(change) }
        changes?.notify()
    }

    /// Counts a change of the adaptive limit and logs it: one line at once, then at most one a second
    /// with how many changes it stands for (the limit may move on every attempt).
    func note(_ change: AdaptiveLimit.Change) {
        metrics.recordLimitChange(change)
        let now = clock.now()
        let logged = limitLog.withLock { $0.shouldLog(now: now) }
        guard let skipped = logged else { return }
        logger.info(
            "bulkhead \(change)",
            metadata: skipped > 0 ? ["changes_not_logged": "\(skipped)"] : [:]
        )
    }

    // MARK: Bulkhead queue

    /// Waits for the slot of a queued call until `queueDeadline`; returns whether it was granted.
    func waitForSlot(_ ticket: Bulkhead.Ticket, until queueDeadline: Instant) async -> Bool {
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    // Wakes at the queue deadline and reports every expired ticket, this one included.
                    guard (try? await clock.sleep(until: queueDeadline)) != nil else { return }
                    expireQueued()
                }
                let granted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let early: Bool? = state.withLock { state in
                        if case .resolved(let granted)? = state.waiters.removeValue(forKey: ticket.id) {
                            return granted
                        }
                        state.waiters[ticket.id] = .waiting(continuation)
                        return nil
                    }
                    if let early { continuation.resume(returning: early) }
                }
                group.cancelAll()
                return granted
            }
        } onCancel: {
            let continuation = state.withLock { state in
                state.policy.bulkhead.cancel(ticket) ? state.resolve(ticket.id, granted: false) : nil
            }
            continuation?.resume(returning: false)
        }
    }

    /// Waits in the bulkhead queue for `ticket`, then tells `call` whether it got its slot; `body` is
    /// the shell's bookkeeping in the same acquisition of the lock, as with `advance`.
    func queue<Extra>(
        _ call: inout GuardedCall,
        for ticket: Bulkhead.Ticket,
        until queueDeadline: Instant,
        then body: (GuardedCall.Step, GuardedCall, Instant, inout State) -> Extra
    ) async -> (GuardedCall.Step, Extra) {
        let granted = await waitForSlot(ticket, until: queueDeadline)
        let now = clock.now()
        return advance(&call) { call, state throws(GuardedCallError) in
            granted
                ? try call.slotGranted(now: now, upstream: &state.policy, using: &state.rng)
                : try call.slotDenied(now: now, upstream: &state.policy)
        } then: { step, call, state in
            body(step, call, now, &state)
        }
    }

    /// Tells every queued call whose queue deadline has passed that it got no slot.
    func expireQueued() {
        let now = clock.now()
        let expired = state.withLock { state in
            var continuations: [CheckedContinuation<Bool, Never>] = []
            while let ticket = state.policy.bulkhead.popExpired(now: now) {
                if let continuation = state.resolve(ticket.id, granted: false) { continuations.append(continuation) }
            }
            return continuations
        }
        for continuation in expired { continuation.resume(returning: false) }
    }

    // MARK: Events

    /// Logs a breaker transition (one line per change of state, with its cause) and tells the gossip
    /// pool. Who decided it was recorded with the transition, under the same lock.
    func note(_ transition: CircuitBreaker.Transition?) {
        guard let transition else { return }
        events?.send(.breaker(upstream: configuration.name, transition: transition))
        let level: Logger.Level = transition.to == .open || transition.to == .forcedOpen ? .warning : .notice
        logger.log(
            level: level,
            "breaker \(transition.from) -> \(transition.to)",
            metadata: ["cause": "\(transition.cause)"]
        )
    }

    /// Logs an outlier event: one line per ejection or restoration.
    func note(_ event: OutlierEvent?, endpoint: EndpointAddress?) {
        guard let event, let endpoint else { return }
        switch event.kind {
        case .ejected(let until, let multiplier):
            // Rounded to the millisecond: "30s", not the nanoseconds left after the decision.
            let left = Duration.milliseconds(((until - clock.now()).nanoseconds + 500_000) / 1_000_000)
            logger.warning(
                "endpoint \(endpoint) ejected for \(left.configDescription) (x\(multiplier))",
                metadata: ["cause": "consecutive_failures reached"]
            )
            events?.send(.endpoint(upstream: configuration.name, endpoint: endpoint.description, ejected: true))
        case .ejectionSkipped:
            logger.notice("endpoint \(endpoint) kept in rotation: max_ejection_percent reached")
        case .restored:
            logger.notice("endpoint \(endpoint) restored", metadata: ["cause": "ejection ended"])
            events?.send(.endpoint(upstream: configuration.name, endpoint: endpoint.description, ejected: false))
        case .failedHealthCheck:
            logger.warning("endpoint \(endpoint) failed its health check")
        case .passedHealthCheck:
            logger.notice("endpoint \(endpoint) passed its health check")
        }
    }

    /// Periodic work: expired leases are recorded as timeouts and their slots freed; endpoints due are
    /// restored. Returns when it is next due: the earliest lease expiry or end of an ejection (nil for
    /// none).
    @discardableResult
    public func housekeeping() -> Instant? {
        let now = clock.now()
        var expired: [(GuardedCall.Effects, EndpointAddress?, State.Suspicion?)] = []
        var woken: [CheckedContinuation<Bool, Never>] = []
        var restored: [(OutlierEvent, EndpointAddress)] = []
        let nextDue: Instant? = state.withLock { state in
            for (id, lease) in state.leases where lease.expiresAt <= now {
                guard let ended = state.endLease(id, .judged(.failure(.timeout)), duration: nil, now: now) else {
                    continue
                }
                state.counters.count(.timeout)
                woken += ended.woken
                var effects = ended.step.effects
                // An expired lease is counted as a timeout, not as an attempt the app reported.
                effects.attemptRecorded = nil
                expired.append((effects, ended.endpoint, ended.suspicion))
            }
            while let event = state.policy.outliers.restoreDue(now: now) {
                restored.append((event, state.endpoints[event.endpoint]))
            }
            let leaseExpiry = state.leases.values.lazy.map(\.expiresAt).min()
            return [leaseExpiry, state.policy.outliers.nextRestoreTime].compactMap { $0 }.min()
        }
        for continuation in woken { continuation.resume(returning: true) }
        for (effects, endpoint, suspicion) in expired {
            logger.notice("permit lease expired: recorded as a timeout, slot freed")
            carryOut(effects, endpoint: endpoint)
            if let suspicion { note(suspicion) }
        }
        for (event, endpoint) in restored { note(event, endpoint: endpoint) }
        if !restored.isEmpty { changes?.notify() }
        return nextDue
    }

    // MARK: Discovery

    /// Replaces the endpoints (discovery found members joining or leaving). The breaker, bulkhead and
    /// budget go on; the outlier detector, health checks and balancer start afresh for the new list.
    /// Returns whether anything changed.
    @discardableResult
    public func replaceEndpoints(_ endpoints: [EndpointAddress]) -> Bool {
        let policy = configuration.policy
        let now = clock.now()
        let changed = state.withLock { state -> Bool in
            guard state.endpoints != endpoints else { return false }
            do {
                try state.policy.replaceEndpoints(
                    count: endpoints.count,
                    outlierDetection: policy.outlierDetection,
                    loadBalancing: policy.loadBalancing
                )
            } catch {
                return false
            }
            state.endpoints = endpoints
            state.health = try? Self.makeHealthTracker(
                policy.healthCheck,
                endpointCount: endpoints.count,
                now: now,
                rng: &state.rng
            )
            return true
        }
        if changed {
            logger.notice("endpoints discovered: \(endpoints.map(\.description).joined(separator: ", "))")
            changes?.notify()
        }
        return changed
    }

    /// The endpoints now.
    public var endpoints: [EndpointAddress] {
        state.withLock { $0.endpoints }
    }

    // MARK: Peers

    /// Takes in what live peers report about this upstream: kept for `Watch` and `levee upstreams`;
    /// with `follow`, a CLOSED breaker opens when at least `quorum` of them report it open, or when its
    /// own last `suspectAfter` attempts failed in a row and at least `quorum` of them suspect it or
    /// report it open (the local half-open probe decides when it closes).
    func applyPeerReports(
        _ peers: [String],
        suspecting: [String] = [],
        quorum: Int,
        follow: Bool,
        suspectAfter: Int = 0
    ) {
        let now = clock.now()
        let (transition, changed) = state.withLock { state -> (CircuitBreaker.Transition?, Bool) in
            let changed = state.peersReportingOpen != peers || state.peerQuorum != quorum
            state.peersReportingOpen = peers
            state.peerQuorum = quorum
            state.peersSuspecting = suspecting
            state.suspectAfter = suspectAfter
            state.follows = follow
            guard follow else { return (nil, changed) }
            if peers.count >= quorum {
                return (state.policy.openOnPeerReports(peers.count, now: now), changed)
            }
            return (state.openOnCorroboration(now: now), changed)
        }
        note(transition)
        if changed || transition != nil { changes?.notify() }
    }

    /// Tells the gossip pool of a suspicion (and logs the breaker's opening, when the peers'
    /// suspicion corroborated it). Whichever door the attempt came through: a call's step, an app's
    /// `Release`, an expired lease.
    func note(_ suspicion: State.Suspicion) {
        events?.send(.suspect(upstream: configuration.name, streak: suspicion.streak))
        note(suspicion.transition)
        if suspicion.transition != nil { changes?.notify() }
    }

    // MARK: Operator

    /// Applies an operator's breaker override (`open`, `close`), or resets the breaker (`nil`); returns
    /// the state before and after.
    public func setBreaker(
        _ override: CircuitBreaker.Override?
    ) -> (previous: CircuitBreaker.State, current: CircuitBreaker.State) {
        let now = clock.now()
        let (previous, current, transition) = state.withLock { state in
            let previous = state.policy.breaker.state
            let transition = state.policy.overrideBreaker(override, now: now)
            return (previous, state.policy.breaker.state, transition)
        }
        note(transition)
        changes?.notify()
        return (previous, current)
    }

    /// Whether nothing is using this runtime any more (after a reload removed it).
    var isIdle: Bool {
        guard checkouts.load(ordering: .acquiring) == 0 else { return false }
        return state.withLock {
            $0.callsInProgress == 0 && $0.leases.isEmpty && $0.policy.bulkhead.inFlight == 0
        }
    }
}

extension CallOutcome {
    /// The outcome a `fallback.on` entry names.
    init(_ trigger: FallbackTrigger) {
        switch trigger {
        case .upstreamFailure: self = .upstreamFailure
        case .timeout: self = .timeout
        case .connectFailure: self = .connectFailure
        case .circuitOpen: self = .circuitOpen
        case .bulkheadFull: self = .bulkheadFull
        case .noHealthyEndpoint: self = .noHealthyEndpoint
        }
    }
}
