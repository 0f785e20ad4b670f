/// One upstream's circuit breaker: CLOSED, OPEN, HALF_OPEN, and the operator overrides FORCED_OPEN and
/// FORCED_CLOSED (DESIGN.md, "Policy semantics"; resilience4j/Hystrix lineage, compared in
/// `reference/policy-anchors.md` A1).
///
/// A value with no I/O and no clock: every event takes its `now`, and every event that changes the
/// state returns the `Transition` for the shell to log, count and gossip. The shell keeps one breaker
/// per upstream behind a lock:
///
/// ```swift
/// var breaker = try CircuitBreaker(configuration: configuration)
/// switch breaker.tryAcquire(now: now) {
/// case .admitted(let permit, let halfOpened):
///     // …log `halfOpened` if set, call the upstream, then:
///     let transition = breaker.record(outcome, for: permit, duration: elapsed, now: later)
/// case .rejected(let rejection):
///     // answer CIRCUIT_OPEN with rejection.retryAfter
/// }
/// ```
///
/// The steady state (acquire and record while CLOSED) allocates nothing: the window's storage is made
/// once, at init, and the state's data lives in plain structs.
public struct CircuitBreaker: Sendable {
    /// The settings the breaker was made with (validated).
    public let configuration: CircuitBreakerConfiguration

    /// `failure_rate` and `slow_call.rate` in parts per million, so that the trip rule is an exact
    /// integer comparison: `failures · 10⁶ ≥ threshold · calls`. Exactly 50% against 50 trips, as the
    /// inclusive rule wants, with no floating-point rounding at the boundary. Rates are kept to four
    /// decimals of a percent.
    private let failureThreshold: Int64
    private let slowCallThreshold: Int64

    private var phase: Phase
    private var window: OutcomeWindow

    /// The number of the current state period; every transition (and every reset) starts a new one.
    /// Permits carry it so that results from an earlier period are told apart (see `Permit`).
    public private(set) var generation: UInt64

    /// The failures recorded one after another while CLOSED, since the last success (or the last
    /// transition): the first sign of a sick upstream, long before the window's rate says so. Gossip
    /// shares it as suspicion (`openOnCorroboration(peers:suspectAfter:now:)`).
    public private(set) var failureStreak = 0

    /// Makes a CLOSED breaker with an empty window, after validating `configuration`.
    public init(configuration: CircuitBreakerConfiguration = .defaults) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.failureThreshold = Self.partsPerMillion(configuration.failureRate)
        self.slowCallThreshold = Self.partsPerMillion(configuration.slowCall.rate)
        self.phase = .closed
        self.window = OutcomeWindow(configuration.window)
        self.generation = 0
    }

    /// The current state.
    public var state: State { phase.state }

    /// HALF_OPEN's probes that were admitted and have neither reported nor been released: the probes
    /// still out. Zero in every other state. A probe that never comes back keeps the breaker half-open,
    /// so this is what a caller that forgets a permit would leave behind.
    public var probesOut: Int {
        guard case .halfOpen(let halfOpen) = phase else { return 0 }
        return halfOpen.admitted - halfOpen.probes.calls
    }

    // MARK: - Events

    /// Asks to make one attempt at `now`.
    ///
    /// OPEN turns into HALF_OPEN here, lazily, on the first acquire *strictly after* the open time has
    /// passed (resilience4j and Hystrix compare with `>`; Polly's `≥` would let a probe through at the
    /// very instant the wait ends). That acquire is the first probe, and the transition comes back with
    /// it. HALF_OPEN admits `half_open_calls` probes and rejects everything else until they report.
    public mutating func tryAcquire(now: Instant) -> Admission {
        switch phase {
        case .closed, .forcedClosed:
            return .admitted(Permit(generation: generation, isProbe: false), transition: nil)

        case .forcedOpen:
            return .rejected(.forcedOpen)

        case .open(let open):
            let openUntil = open.openedAt + open.duration
            guard now > openUntil else {
                // `now + retryAfter` is the first instant at which an acquire probes, hence the extra
                // nanosecond; it also keeps the wait above zero at the very end of the open time.
                return .rejected(.open(retryAfter: (openUntil - now) + .nanoseconds(1)))
            }
            let halfOpen = HalfOpen(lastOpenDuration: open.duration, admitted: 1, probes: .zero)
            let transition = move(to: .halfOpen(halfOpen), at: now, cause: .openTimeElapsed(open.duration))
            return .admitted(Permit(generation: generation, isProbe: true), transition: transition)

        case .halfOpen(var halfOpen):
            guard halfOpen.admitted < configuration.halfOpenCalls else {
                return .rejected(.probesInFlight)
            }
            halfOpen.admitted += 1
            phase = .halfOpen(halfOpen)
            return .admitted(Permit(generation: generation, isProbe: true), transition: nil)
        }
    }

    /// Reports how the attempt of `permit` ended, `duration` after it started, at `now`.
    ///
    /// - CLOSED: the outcome enters the window, and the breaker trips to OPEN (for `open_for`) when the
    ///   window holds at least `min_calls` outcomes and the failure rate or the slow-call rate is at or
    ///   above its threshold.
    /// - FORCED_CLOSED: the outcome enters the window; nothing trips.
    /// - HALF_OPEN: the outcome is a probe verdict. Once all `half_open_calls` probes reported, the same
    ///   thresholds are applied to the probes (with `min_calls` capped at `half_open_calls`, as
    ///   resilience4j does): reached → OPEN again, for twice the last open time up to `open_for_max`;
    ///   otherwise → CLOSED with an empty window and the open time back at `open_for`.
    ///
    /// An `.ignored` outcome is not recorded (DESIGN.md: calls the app cancelled say nothing about the
    /// upstream) and gives a probe back, as `release(_:)` does. A permit from an earlier generation
    /// changes nothing.
    ///
    /// - Returns: the transition, if this outcome caused one.
    public mutating func record(
        _ outcome: AttemptOutcome,
        for permit: Permit,
        duration: Duration,
        now: Instant
    ) -> Transition? {
        guard permit.generation == generation else { return nil }
        if outcome == .ignored {
            release(permit)
            return nil
        }
        let isFailure = outcome.isFailure
        // Strictly greater, as resilience4j's slowCallDurationThreshold: a call that takes exactly the
        // threshold is on time.
        let isSlow = duration > configuration.slowCall.duration

        switch phase {
        case .closed:
            window.record(isFailure: isFailure, isSlow: isSlow, now: now)
            failureStreak = isFailure ? failureStreak + 1 : 0
            guard let cause = tripCause(window.totals, minCalls: configuration.minCalls) else { return nil }
            return move(to: .open(Open(openedAt: now, duration: configuration.openFor)), at: now, cause: cause)

        case .forcedClosed:
            window.record(isFailure: isFailure, isSlow: isSlow, now: now)
            failureStreak = isFailure ? failureStreak + 1 : 0
            return nil

        case .halfOpen(var halfOpen):
            // Only probes give a verdict, and no more of them than were admitted.
            guard permit.isProbe, halfOpen.probes.calls < halfOpen.admitted else { return nil }
            halfOpen.probes.add(isFailure: isFailure, isSlow: isSlow)
            guard halfOpen.probes.calls == configuration.halfOpenCalls else {
                phase = .halfOpen(halfOpen)
                return nil
            }
            let minCalls = min(configuration.minCalls, configuration.halfOpenCalls)
            if let cause = tripCause(halfOpen.probes, minCalls: minCalls) {
                let grown = min(halfOpen.lastOpenDuration * 2, configuration.openForMax)
                return move(to: .open(Open(openedAt: now, duration: grown)), at: now, cause: cause)
            }
            window.removeAll()
            return move(to: .closed, at: now, cause: .probesPassed(halfOpen.probes))

        case .open, .forcedOpen:
            // No permit of the current generation exists in these states.
            return nil
        }
    }

    /// Gives back a permit whose attempt will not be reported, e.g. because the app cancelled it.
    ///
    /// This matters for probes: HALF_OPEN waits for all of its probes, so a probe that never reports
    /// would keep the breaker half-open for ever. A released probe frees its slot for another caller
    /// (resilience4j's `releasePermission`). Any other permit has nothing to give back.
    ///
    /// - Returns: whether a probe slot was freed.
    @discardableResult
    public mutating func release(_ permit: Permit) -> Bool {
        guard permit.isProbe, permit.generation == generation, case .halfOpen(var halfOpen) = phase,
            halfOpen.admitted > halfOpen.probes.calls
        else { return false }
        halfOpen.admitted -= 1
        phase = .halfOpen(halfOpen)
        return true
    }

    /// Puts the breaker under an operator override until the next `force` or `reset`. The window is
    /// kept, so the numbers an operator watches go on.
    ///
    /// - Returns: the transition, or `nil` when the breaker already was in that state.
    public mutating func force(_ override: Override, now: Instant) -> Transition? {
        switch (override, phase) {
        case (.open, .forcedOpen), (.closed, .forcedClosed):
            return nil
        case (.open, _):
            return move(to: .forcedOpen, at: now, cause: .forced)
        case (.closed, _):
            return move(to: .forcedClosed, at: now, cause: .forced)
        }
    }

    /// Opens a CLOSED breaker because `peers` agents of the pool (at least the quorum) report the
    /// upstream's breaker open: the fleet stops calling a sick upstream after the first agents noticed,
    /// instead of each paying its own `min_calls` failures (DESIGN.md, "Gossip", share: follow).
    ///
    /// It is an ordinary OPEN for `open_for`: the local half-open probe, not the peers, decides when to
    /// close. Any state but CLOSED is left alone (a breaker already open or probing has its own
    /// evidence; an operator's override wins).
    ///
    /// - Returns: the transition, or `nil` when the breaker was not CLOSED.
    public mutating func openOnPeerReports(_ peers: Int, now: Instant) -> Transition? {
        guard case .closed = phase else { return nil }
        window.removeAll()
        return move(
            to: .open(Open(openedAt: now, duration: configuration.openFor)),
            at: now,
            cause: .peersReportedOpen(peers)
        )
    }

    /// Opens a CLOSED breaker whose last `suspectAfter` (or more) outcomes all failed, because `peers`
    /// agents of the pool (at least the quorum, counted by the caller) saw the same in the last moments
    /// or report the breaker open: the fleet's evidence together, where each agent's window alone would
    /// need its own `min_calls` and failure rate (DESIGN.md, "Gossip", share: follow). An ordinary OPEN
    /// for `open_for`, as ``openOnPeerReports(_:now:)``.
    ///
    /// - Returns: the transition, or `nil` when the breaker is not CLOSED, the streak is shorter, or
    ///   `suspectAfter` is 0 (suspicion off).
    public mutating func openOnCorroboration(peers: Int, suspectAfter: Int, now: Instant) -> Transition? {
        guard case .closed = phase, suspectAfter > 0, failureStreak >= suspectAfter else { return nil }
        let streak = failureStreak
        window.removeAll()
        return move(
            to: .open(Open(openedAt: now, duration: configuration.openFor)),
            at: now,
            cause: .corroborated(streak: streak, peers: peers)
        )
    }

    /// Returns the breaker to CLOSED with an empty window and the open time back at `open_for`, lifting
    /// any override. Permits issued before the reset no longer count.
    ///
    /// - Returns: the transition, or `nil` when the breaker was CLOSED already (its window is still
    ///   cleared).
    public mutating func reset(now: Instant) -> Transition? {
        window.removeAll()
        if case .closed = phase {
            generation &+= 1
            return nil
        }
        return move(to: .closed, at: now, cause: .reset)
    }

    // MARK: - Queries

    /// While OPEN, the first instant at which an acquire becomes a probe: one nanosecond after the open
    /// time ends, since the wait ends strictly. `nil` in every other state.
    public var nextTransitionTime: Instant? {
        guard case .open(let open) = phase else { return nil }
        return open.openedAt + open.duration + .nanoseconds(1)
    }

    /// How long a caller should wait at `now` before an acquire can be admitted.
    ///
    /// Zero while CLOSED or FORCED_CLOSED (and while OPEN past the open time: the next acquire probes);
    /// `nil` while HALF_OPEN or FORCED_OPEN, where no wait is known (see `Rejection`).
    public func retryAfter(now: Instant) -> Duration? {
        switch phase {
        case .closed, .forcedClosed:
            return .zero
        case .open:
            let wait = nextTransitionTime! - now
            return wait > .zero ? wait : .zero
        case .halfOpen, .forcedOpen:
            return nil
        }
    }

    /// The state and the window's numbers at `now` (a time window leaves out what `now` has pushed out
    /// of it; nothing is evicted for real).
    public func snapshot(now: Instant) -> Snapshot {
        let tally = window.tally(at: now)
        var openDuration = configuration.openFor
        var probesInFlight = 0
        var probes = Tally.zero
        switch phase {
        case .open(let open):
            openDuration = open.duration
        case .halfOpen(let halfOpen):
            openDuration = halfOpen.lastOpenDuration
            probesInFlight = halfOpen.admitted - halfOpen.probes.calls
            probes = halfOpen.probes
        case .closed, .forcedOpen, .forcedClosed:
            break
        }
        return Snapshot(
            state: state,
            window: tally,
            failureRate: Self.percent(tally.failures, of: tally.calls),
            slowCallRate: Self.percent(tally.slowCalls, of: tally.calls),
            openDuration: openDuration,
            nextTransitionTime: nextTransitionTime,
            probesInFlight: probesInFlight,
            probes: probes
        )
    }

    // MARK: - Internals

    /// Enters `next` and starts a new generation.
    private mutating func move(to next: Phase, at now: Instant, cause: Cause) -> Transition {
        let from = phase.state
        phase = next
        generation &+= 1
        failureStreak = 0
        return Transition(from: from, to: next.state, at: now, cause: cause)
    }

    /// The trip rule: enough calls, and a rate at or above its threshold. The failure rate is checked
    /// first, so it is the one named when both are reached.
    private func tripCause(_ tally: Tally, minCalls: Int) -> Cause? {
        guard tally.calls >= minCalls, tally.calls > 0 else { return nil }
        let calls = Int64(tally.calls)
        if Int64(tally.failures) * 1_000_000 >= failureThreshold * calls {
            return .failureRate(
                RateReached(count: tally.failures, calls: tally.calls, threshold: configuration.failureRate)
            )
        }
        if Int64(tally.slowCalls) * 1_000_000 >= slowCallThreshold * calls {
            return .slowCallRate(
                RateReached(count: tally.slowCalls, calls: tally.calls, threshold: configuration.slowCall.rate)
            )
        }
        return nil
    }

    private static func partsPerMillion(_ percent: Double) -> Int64 {
        Int64((percent * 10_000).rounded())
    }

    private static func percent(_ count: Int, of calls: Int) -> Double {
        calls == 0 ? 0 : Double(count) * 100 / Double(calls)
    }
}

extension CircuitBreaker {
    /// The state with the data it carries; one struct per state that has any (the shape of
    /// grpc-swift-nio-transport's `GRPCStreamStateMachineState`). The payloads are plain values, so
    /// replacing them never allocates.
    private enum Phase: Sendable {
        case closed
        case open(Open)
        case halfOpen(HalfOpen)
        case forcedOpen
        case forcedClosed

        var state: State {
            switch self {
            case .closed: .closed
            case .open: .open
            case .halfOpen: .halfOpen
            case .forcedOpen: .forcedOpen
            case .forcedClosed: .forcedClosed
            }
        }
    }

    private struct Open: Sendable {
        /// When the breaker opened.
        var openedAt: Instant
        /// How long it stays open this time: `open_for`, doubled on each consecutive re-open.
        var duration: Duration
    }

    private struct HalfOpen: Sendable {
        /// The open time that preceded this half-open period; a failed verdict doubles it.
        var lastOpenDuration: Duration
        /// Probes admitted and not released (reported or still out).
        var admitted: Int
        /// The outcomes of the probes that reported.
        var probes: Tally
    }
}
