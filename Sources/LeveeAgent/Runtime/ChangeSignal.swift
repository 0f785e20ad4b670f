import Synchronization

/// Rung when something `Watch` shows may have changed: a breaker, a bulkhead, an endpoint's health, a
/// reload. A watcher waits for the next ring instead of polling, so an idle agent does no work for
/// its watchers.
///
/// Ringing is cheap when nobody waits (one uncontended lock); waiters are resumed outside the lock.
public final class ChangeSignal: Sendable {
    private struct State {
        var version: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// The number of rings so far.
    public var version: UInt64 {
        state.withLock { $0.version }
    }

    /// Something changed: wakes every waiter.
    public func notify() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.version &+= 1
            guard !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the signal has rung after `version` (at once if it already has), or when the task
    /// is cancelled; returns the version then.
    @discardableResult
    public func wait(after version: UInt64) async -> UInt64 {
        let id = state.withLock { state in
            defer { state.nextID &+= 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    guard state.version == version, !Task.isCancelled else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
        return self.version
    }
}
