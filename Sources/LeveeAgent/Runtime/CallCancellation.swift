import Synchronization

/// Lets another thread cancel the task that runs a call, when the client cancels it (the Guard
/// server's completion queue, through ``LoopCall`` or directly).
final class CallCancellation: Sendable {
    /// `UnsafeCurrentTask` is not `Sendable`: it may only be used while its task runs, which the lock
    /// in ``CallCancellation`` guarantees (the task takes itself out before it returns).
    private struct RunningTask: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    private enum State {
        case waiting
        case running(RunningTask)
        case cancelled
        case finished
    }

    private let state = Mutex<State>(.waiting)

    /// Runs `body` in the current task; a ``cancel()`` before or during it cancels the task.
    func run<Result, Failure: Error>(_ body: () async throws(Failure) -> Result) async throws(Failure) -> Result {
        withUnsafeCurrentTask { task in
            guard let task else { return }
            state.withLock { state in
                switch state {
                case .waiting: state = .running(RunningTask(task: task))
                case .cancelled: task.cancel()
                case .running, .finished: break
                }
            }
        }
        defer { state.withLock { $0 = .finished } }
        return try await body()
    }

    func cancel() {
        state.withLock { state in
            switch state {
            case .running(let running):
                running.task.cancel()
                state = .cancelled
            case .waiting:
                state = .cancelled
            case .cancelled, .finished:
                break
            }
        }
    }
}
