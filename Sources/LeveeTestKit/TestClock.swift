public import LeveeClock
public import LeveePolicy
import Synchronization

/// An `InstantClock` that moves only when the test says so, for the shells: a sleeping task wakes when
/// `advance` reaches its deadline, so that a test of the agent's runtime needs no wall-clock time.
///
/// `ManualClock` is its counterpart for the pure types, which take `now` as a value.
public final class TestClock: InstantClock {
    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Instant
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
        /// Tests waiting for a number of sleepers to be asleep.
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: Mutex<State>

    /// A clock that starts at `start` (one hour after the origin by default, as `ManualClock`).
    public init(start: Instant = Instant(nanoseconds: 3_600_000_000_000)) {
        state = Mutex(State(now: start))
    }

    public func now() -> Instant {
        state.withLock { $0.now }
    }

    public func sleep(until deadline: Instant) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (resumeNow, watchers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    guard deadline > state.now else { return (true, []) }
                    guard !Task.isCancelled else { return (true, []) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return (false, Self.takeSatisfiedWatchers(&state))
                }
                for watcher in watchers { watcher.resume() }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Returns once at least `count` tasks are asleep on this clock: the test's way to know that the
    /// code under test has got as far as its next wait, without polling.
    public func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                guard state.sleepers.count < count else { return true }
                state.watchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Moves the clock forward by `duration` and wakes every task whose deadline it reaches.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a test clock only moves forward")
        let woken = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now += duration
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.sorted { $0.value.deadline < $1.value.deadline }.map(\.value.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Moves the clock to `instant` (not backwards) and wakes the tasks it reaches.
    public func advance(to instant: Instant) {
        let now = now()
        precondition(instant >= now, "a test clock only moves forward")
        advance(by: instant - now)
    }

    private static func takeSatisfiedWatchers(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let count = state.sleepers.count
        let ready = state.watchers.filter { $0.count <= count }.map(\.continuation)
        state.watchers.removeAll { $0.count <= count }
        return ready
    }
}
