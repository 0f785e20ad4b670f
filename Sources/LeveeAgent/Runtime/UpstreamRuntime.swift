public import LeveeAPI
public import LeveeConfiguration
public import LeveeGossipNIO
public import LeveePolicy
public import Logging
import Synchronization

/// One upstream's live policy state — breaker, bulkhead, retry budget, outlier detector, load
/// balancer, stale cache, permits — behind one lock, and the executor that reaches its endpoints.
///
/// Every decision is made by the pure policy core under the lock; sending, waiting and sleeping
/// happen outside it. All processes of the service share this state through the agent.
public final class UpstreamRuntime: Sendable {
    public let configuration: UpstreamConfiguration
    let executor: any UpstreamExecutor
    let clock: MonotonicClock
    let logger: Logger
    let classifier: OutcomeClassifier
    let retryPolicy: RetryPolicy
    let state: Mutex<State>
    let events: AgentEvents?
    /// The counters and histograms this upstream exports (`levee_calls_total` and friends).
    let metrics: UpstreamMetrics

    /// The mutable part, only touched under the lock.
    struct State: Sendable {
        var breaker: CircuitBreaker
        var breakerSource: Levee_V1_StateSource = .local
        /// The endpoints now: the configured ones, or those discovered in the gossip pool.
        var endpoints: [EndpointAddress]
        /// Bumped when discovery replaces the endpoints, so that attempts started on the old list do
        /// not report into the new one's detector and balancer.
        var endpointGeneration: UInt64 = 0
        var bulkhead: Bulkhead
        var budget: RetryBudget
        var outliers: OutlierDetector
        /// The active health checks of the endpoints, when the upstream has `health_check`.
        var health: HealthCheckTracker?
        var balancer: LoadBalancer
        var rng: SplitMix64
        var waiters: [UInt64: Waiter] = [:]
        var stale: StaleCache<UpstreamResponse>?
        var counters = Levee_V1_UpstreamCounters()
        /// The calls that finished in the last 10 seconds, for `levee upstreams`.
        var recent = RecentLatencyWindow()
        var leases: [String: Lease] = [:]
        var callsInProgress = 0
        /// Callers that the registry handed this runtime to and that have not yet handed it back
        /// (``UpstreamRegistry/withRuntime(named:protocolKind:_:)``): a reload that retires the runtime
        /// between the lookup and the call's first permit must not close its connections.
        var checkouts = 0
        /// Live peers whose latest report says this upstream's breaker is open, and the quorum that
        /// makes their word count (share: advisory shows it, follow acts on it).
        var peersReportingOpen: [String] = []
        var peerQuorum = Int.max

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

    /// A permit handed out by `Acquire`, alive until `Release` or its lease ends.
    struct Lease: Sendable {
        var permit: CircuitBreaker.Permit
        var priority: Priority
        var endpoint: Int?
        var endpointGeneration: UInt64
        var grantedAt: Instant
        var expiresAt: Instant
    }

    public init(
        configuration: UpstreamConfiguration,
        executor: any UpstreamExecutor,
        clock: MonotonicClock,
        logger: Logger,
        events: AgentEvents? = nil,
        metrics: UpstreamMetrics = .disabled
    ) throws(ConfigurationError) {
        let policy = configuration.policy
        try policy.validate()
        self.configuration = configuration
        self.executor = executor
        self.clock = clock
        self.events = events
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "upstream"] = "\(configuration.name)"
        self.logger = logger
        classifier = OutcomeClassifier(configuration: policy.classify)
        retryPolicy = RetryPolicy(configuration: policy.retry)
        let endpointCount = configuration.endpoints.count
        var rng = SplitMix64(seed: UInt64.random(in: .min ... .max))
        let health = try Self.makeHealthTracker(
            policy.healthCheck,
            endpointCount: endpointCount,
            now: clock.now(),
            rng: &rng
        )
        state = Mutex(
            State(
                breaker: try CircuitBreaker(configuration: policy.breaker),
                endpoints: configuration.endpoints,
                bulkhead: try Bulkhead(configuration: policy.bulkhead),
                budget: retryPolicy.makeBudget(),
                outliers: try OutlierDetector(configuration: policy.outlierDetection, endpointCount: endpointCount),
                health: health,
                balancer: LoadBalancer(configuration: policy.loadBalancing, endpointCount: endpointCount),
                rng: rng,
                stale: configuration.fallback.stale.map {
                    StaleCache(maxAge: $0.maxAge, capacity: $0.maxEntries)
                }
            )
        )
    }

    public var name: String { configuration.name }

    // MARK: Bulkhead slots

    /// How a request for a bulkhead slot ended.
    enum SlotResult {
        case acquired
        case rejected(String)
    }

    /// Takes a slot, waiting in the priority queue until the queue deadline (`queue_timeout`, never past
    /// the call's deadline) when none is free.
    func acquireSlot(priority: Priority, deadline: Deadline) async -> SlotResult {
        let now = clock.now()
        let (admission, queueDeadline) = state.withLock { state in
            let queueDeadline = state.bulkhead.queueDeadline(callDeadline: deadline.instant, now: now)
            return (
                state.bulkhead.tryAcquire(priority: priority, queueDeadline: queueDeadline, now: now), queueDeadline
            )
        }
        switch admission {
        case .admitted:
            return .acquired
        case .rejected(let rejection):
            return .rejected(rejection.description)
        case .queued(let ticket):
            if await waitForSlot(ticket, until: queueDeadline) { return .acquired }
            return .rejected("no slot freed within \((queueDeadline - now).configDescription) in the queue")
        }
    }

    private func waitForSlot(_ ticket: Bulkhead.Ticket, until queueDeadline: Instant) async -> Bool {
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    // Wakes at the queue deadline and reports every expired ticket, this one included.
                    guard (try? await clock.sleep(until: queueDeadline, atMost: .seconds(86_400))) != nil else {
                        return
                    }
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
                state.bulkhead.cancel(ticket) ? state.resolve(ticket.id, granted: false) : nil
            }
            continuation?.resume(returning: false)
        }
    }

    /// Frees a slot; the first live queued call of the highest priority takes it.
    func releaseSlot(priority: Priority) {
        let now = clock.now()
        let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let ticket = try? state.bulkhead.release(priority: priority, now: now) else { return nil }
            return state.resolve(ticket.id, granted: true)
        }
        continuation?.resume(returning: true)
    }

    /// Tells every queued call whose queue deadline has passed that it got no slot.
    func expireQueued() {
        let now = clock.now()
        let expired = state.withLock { state in
            var continuations: [CheckedContinuation<Bool, Never>] = []
            while let ticket = state.bulkhead.popExpired(now: now) {
                if let continuation = state.resolve(ticket.id, granted: false) { continuations.append(continuation) }
            }
            return continuations
        }
        for continuation in expired { continuation.resume(returning: false) }
    }

    // MARK: Events

    /// Logs a breaker transition (one line per change of state, with its cause), records who decided
    /// it, and tells the gossip pool.
    func note(_ transition: CircuitBreaker.Transition?) {
        guard let transition else { return }
        let source: Levee_V1_StateSource =
            switch transition.cause {
            case .forced: .operator
            case .peersReportedOpen: .peers
            default: .local
            }
        state.withLock { $0.breakerSource = source }
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

    /// Periodic work: expired leases are recorded as timeouts and freed; endpoints due are restored.
    func housekeeping() {
        let now = clock.now()
        var leaseSlots: [Priority] = []
        var transitions: [CircuitBreaker.Transition] = []
        var events: [(OutlierEvent, EndpointAddress)] = []
        state.withLock { state in
            for (id, lease) in state.leases where lease.expiresAt <= now {
                state.leases[id] = nil
                let outcome = AttemptOutcome.failure(.timeout)
                if let t = state.breaker.record(outcome, for: lease.permit, duration: now - lease.grantedAt, now: now) {
                    transitions.append(t)
                }
                if let endpoint = lease.endpoint, lease.endpointGeneration == state.endpointGeneration {
                    if let event = state.outliers.record(endpoint: endpoint, outcome: outcome, now: now) {
                        events.append((event, state.endpoints[endpoint]))
                    }
                    state.balancer.onAttemptFinished(endpoint: endpoint)
                }
                state.counters.timeout += 1
                leaseSlots.append(lease.priority)
            }
            while let event = state.outliers.restoreDue(now: now) {
                events.append((event, state.endpoints[event.endpoint]))
            }
        }
        for priority in leaseSlots {
            logger.notice("permit lease expired: recorded as a timeout, slot freed")
            releaseSlot(priority: priority)
        }
        for transition in transitions { note(transition) }
        for (event, endpoint) in events { note(event, endpoint: endpoint) }
    }

    // MARK: Discovery

    /// Replaces the endpoints (discovery found members joining or leaving). The breaker, bulkhead and
    /// budget go on; the outlier detector, health checks and balancer start afresh for the new list.
    /// Returns whether anything changed.
    @discardableResult
    func replaceEndpoints(_ endpoints: [EndpointAddress]) -> Bool {
        let policy = configuration.policy
        let now = clock.now()
        let changed = state.withLock { state -> Bool in
            guard state.endpoints != endpoints,
                let outliers = try? OutlierDetector(
                    configuration: policy.outlierDetection,
                    endpointCount: endpoints.count
                )
            else { return false }
            state.endpoints = endpoints
            state.endpointGeneration &+= 1
            state.outliers = outliers
            state.health = try? Self.makeHealthTracker(
                policy.healthCheck,
                endpointCount: endpoints.count,
                now: now,
                rng: &state.rng
            )
            state.balancer = LoadBalancer(configuration: policy.loadBalancing, endpointCount: endpoints.count)
            return true
        }
        if changed {
            logger.notice("endpoints discovered: \(endpoints.map(\.description).joined(separator: ", "))")
        }
        return changed
    }

    /// The endpoints now.
    public var endpoints: [EndpointAddress] {
        state.withLock { $0.endpoints }
    }

    // MARK: Peers

    /// Takes in what live peers report about this upstream: kept for `Watch` and `levee upstreams`;
    /// with `follow`, a CLOSED breaker opens when at least `quorum` of them report it open (the local
    /// half-open probe decides when it closes).
    func applyPeerReports(_ peers: [String], quorum: Int, follow: Bool) {
        let now = clock.now()
        let transition = state.withLock { state -> CircuitBreaker.Transition? in
            state.peersReportingOpen = peers
            state.peerQuorum = quorum
            guard follow, peers.count >= quorum else { return nil }
            return state.breaker.openOnPeerReports(peers.count, now: now)
        }
        note(transition)
    }

    // MARK: Operator

    /// Applies an operator's breaker action; returns the state before and after.
    public func setBreaker(
        _ action: Levee_V1_BreakerAction
    ) -> (previous: CircuitBreaker.State, current: CircuitBreaker.State) {
        let now = clock.now()
        let (previous, current, transition) = state.withLock { state in
            let previous = state.breaker.state
            let transition: CircuitBreaker.Transition? =
                switch action {
                case .open: state.breaker.force(.open, now: now)
                case .close: state.breaker.force(.closed, now: now)
                default: state.breaker.reset(now: now)
                }
            return (previous, state.breaker.state, transition)
        }
        note(transition)
        return (previous, current)
    }

    /// Whether nothing is using this runtime any more (after a reload removed it).
    var isIdle: Bool {
        state.withLock {
            $0.checkouts == 0 && $0.callsInProgress == 0 && $0.leases.isEmpty && $0.bulkhead.inFlight == 0
        }
    }
}

extension CircuitBreaker.State {
    /// The Guard and Admin API spelling.
    var proto: Levee_V1_BreakerState {
        switch self {
        case .closed: .closed
        case .open: .open
        case .halfOpen: .halfOpen
        case .forcedOpen: .forcedOpen
        case .forcedClosed: .forcedClosed
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up, clamped to `UInt32` (for `retry_after_ms` and friends).
    var wireMilliseconds: UInt32 {
        UInt32(clamping: max(0, millisecondsRoundedUp))
    }

    /// Whole microseconds, for `elapsed_us`.
    var microseconds: UInt64 {
        UInt64(clamping: max(0, nanoseconds / 1_000))
    }
}
