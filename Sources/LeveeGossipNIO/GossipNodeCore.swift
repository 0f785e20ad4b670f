import LeveeClock
import LeveeGossip
import LeveePolicy
import Synchronization

/// The state of a `GossipNode` behind one lock, and the hand-off of what the pure instances decide:
/// I/O goes to `jobs`, events to `events`, completions to the waiting callers, earlier deadlines to
/// the timer.
///
/// Separate from `GossipNode` so that the transport's stream responder, made before the node, can
/// answer inbound streams with it. Every method computes under the lock and acts after releasing it.
final class GossipNodeCore: Sendable {
    struct State {
        var pool: GossipPool?
        var started = false
        var stopped = false
        var readyWaiters: [CheckedContinuation<Void, any Error>] = []
        var joinWaiters: [CheckedContinuation<JoinResult, Never>] = []
        var leaveWaiters: [CheckedContinuation<Void, Never>] = []
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        /// The timer loop, parked until its deadline or an earlier one.
        var timerWaiter: CheckedContinuation<Void, Never>?
        var timerWakePending = false
        /// The deadline the timer loop sleeps towards.
        var armedDeadline = Instant.distantFuture
        /// Answers to the queries this node sent and still collects, by query.
        var queryAnswers: [SerfQueryTicket: [GossipQueryAnswer]] = [:]
        /// Counts kept while no pool exists yet, or for the transport's side of the node.
        var counters = GossipNodeCounters()
    }

    let clock: MonotonicClock
    let state = Mutex(State())
    let events: AsyncStream<GossipEvent>
    private let eventContinuation: AsyncStream<GossipEvent>.Continuation
    let jobs: AsyncStream<GossipEffect>
    private let jobContinuation: AsyncStream<GossipEffect>.Continuation

    init(clock: MonotonicClock, eventBufferSize: Int) {
        self.clock = clock
        (events, eventContinuation) = AsyncStream.makeStream(
            of: GossipEvent.self,
            bufferingPolicy: .bufferingNewest(eventBufferSize)
        )
        (jobs, jobContinuation) = AsyncStream.makeStream(of: GossipEffect.self)
    }

    // MARK: Lifecycle

    /// Claims the single run of the node.
    func begin() -> Bool {
        state.withLock { state in
            guard !state.started else { return false }
            state.started = true
            return true
        }
    }

    /// Installs the pool and runs its first tick (which reports our own join and staggers the loops).
    func start(_ pool: GossipPool) {
        var pool = pool
        let effects = pool.onTick(now: clock.now())
        let waiters: [CheckedContinuation<Void, any Error>]? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.pool = pool
            defer { state.readyWaiters = [] }
            return state.readyWaiters
        }
        guard let waiters else { return }
        for waiter in waiters { waiter.resume() }
        perform(effects)
    }

    /// Waits until the pool runs; throws `notRunning` when the node stopped first.
    func waitUntilRunning() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready: Bool? = state.withLock { state in
                if state.stopped { return false }
                if state.pool != nil { return true }
                state.readyWaiters.append(continuation)
                return nil
            }
            switch ready {
            case true?: continuation.resume()
            case false?: continuation.resume(throwing: GossipNodeError(.notRunning, "the node has stopped"))
            case nil: break
            }
        }
    }

    /// Ends everything: streams finish, every waiter is released, the timer wakes to exit.
    func stop() {
        let taken = state.withLock { state in
            state.stopped = true
            defer {
                state.readyWaiters = []
                state.joinWaiters = []
                state.leaveWaiters = []
                state.stopWaiters = []
                state.timerWaiter = nil
            }
            return (state.readyWaiters, state.joinWaiters, state.leaveWaiters, state.stopWaiters, state.timerWaiter)
        }
        let error = GossipNodeError(.notRunning, "the node has stopped")
        for waiter in taken.0 { waiter.resume(throwing: error) }
        for waiter in taken.1 { waiter.resume(returning: JoinResult(contacted: 0, failed: 0)) }
        for waiter in taken.2 { waiter.resume() }
        for waiter in taken.3 { waiter.resume() }
        taken.4?.resume()
        jobContinuation.finish()
        eventContinuation.finish()
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Returns once `stop()` was called.
    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped = state.withLock { state in
                if !state.stopped { state.stopWaiters.append(continuation) }
                return state.stopped
            }
            if stopped { continuation.resume() }
        }
    }

    // MARK: Computing

    /// Runs `body` on the pool under the lock with the current instant, then carries out its effects.
    /// Throws `notRunning` without a running pool.
    @discardableResult
    func compute<Result>(
        _ body: (inout GossipPool, Instant) throws(GossipNodeError) -> (Result, [GossipEffect])
    ) throws(GossipNodeError) -> Result {
        let now = clock.now()
        let outcome = try state.withLock { state throws(GossipNodeError) -> (Result, [GossipEffect], Bool) in
            guard !state.stopped, state.pool != nil else {
                throw GossipNodeError(.notRunning, "the node is not running")
            }
            let (result, effects) = try body(&state.pool!, now)
            return (result, effects, Self.needsEarlierWake(&state))
        }
        if outcome.2 { wakeTimer() }
        perform(outcome.1)
        return outcome.0
    }

    /// `compute` for inputs that only produce effects; a stopped node ignores them.
    func handle(_ body: (inout GossipPool, Instant) -> [GossipEffect]) {
        try? compute { (pool, now) throws(GossipNodeError) in ((), body(&pool, now)) }
    }

    /// Counts something that went wrong outside the pool.
    func count(_ update: (inout GossipNodeCounters) -> Void) {
        state.withLock { state in
            if state.pool != nil { update(&state.pool!.counters) } else { update(&state.counters) }
        }
    }

    private static func needsEarlierWake(_ state: inout State) -> Bool {
        guard let pool = state.pool, pool.nextDeadline < state.armedDeadline else { return false }
        state.armedDeadline = pool.nextDeadline
        return true
    }

    /// Hands each effect to whoever carries it out. Never called under the lock.
    func perform(_ effects: [GossipEffect]) {
        for effect in effects {
            switch effect {
            case .send, .sendUserMessage, .pushPull, .streamPing:
                jobContinuation.yield(effect)
            case .emit(let event):
                eventContinuation.yield(event)
            case .queryAnswered(let answer):
                guard case .response(let payload) = answer.kind else { continue }
                state.withLock { state in
                    state.queryAnswers[answer.query]?.append(
                        GossipQueryAnswer(from: answer.from, payload: payload ?? [])
                    )
                }
            case .joinCompleted(let result):
                let waiters = state.withLock { state in
                    defer { state.joinWaiters = [] }
                    return state.joinWaiters
                }
                for waiter in waiters { waiter.resume(returning: result) }
            case .leaveCompleted:
                let waiters = state.withLock { state in
                    defer { state.leaveWaiters = [] }
                    return state.leaveWaiters
                }
                for waiter in waiters { waiter.resume() }
            }
        }
    }

    // MARK: Join and leave

    /// memberlist `Join`: a push/pull to each seed; returns once each answered or failed.
    func join(_ seeds: [NodeAddress]) async -> JoinResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<JoinResult, Never>) in
            let now = clock.now()
            let effects: [GossipEffect]? = state.withLock { state in
                guard !state.stopped, state.pool != nil else { return nil }
                state.joinWaiters.append(continuation)
                return state.pool!.join(seeds, now: now)
            }
            guard let effects else {
                continuation.resume(returning: JoinResult(contacted: 0, failed: seeds.count))
                return
            }
            perform(effects)
        }
    }

    /// memberlist `Leave`: gossip our `dead` and return once it went out its full number of times
    /// (or the instance's leave timeout passed).
    func leaveMembership() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = clock.now()
            let effects: [GossipEffect]? = state.withLock { state in
                guard !state.stopped, state.pool != nil, !state.pool!.membership.hasLeft else { return nil }
                state.leaveWaiters.append(continuation)
                return state.pool!.leaveMembership(now: now)
            }
            guard let effects else {
                continuation.resume()
                return
            }
            perform(effects)
        }
    }

    // MARK: Timer

    /// The deadline the timer loop should sleep towards, nil once stopped.
    func armTimer() -> Instant? {
        state.withLock { state in
            guard !state.stopped, let pool = state.pool else { return nil }
            state.armedDeadline = pool.nextDeadline
            return state.armedDeadline
        }
    }

    /// Parks the timer loop until `wakeTimer()`; returns at once if a wake came in between.
    func waitForTimer() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.timerWakePending || state.stopped {
                        state.timerWakePending = false
                        return true
                    }
                    state.timerWaiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wakeTimer()
        }
    }

    func wakeTimer() {
        let waiter = state.withLock { state in
            guard let waiter = state.timerWaiter else {
                state.timerWakePending = true
                return nil as CheckedContinuation<Void, Never>?
            }
            state.timerWaiter = nil
            return waiter
        }
        waiter?.resume()
    }
}
