import NIOCore

/// Runs the calls of one event loop that must wait (a backoff before a retry, a queue for a bulkhead
/// slot), as child tasks of one task group, each on that loop, so that the call's answer is given
/// from the loop's own thread. (A call that needs only attempts never comes here: see ``LoopCall``.)
///
/// The group belongs to the listener's service (the proxy listener, the Guard server), so every call
/// is owned: when the listener drains, it waits for the calls in flight, then ``finish()`` ends
/// ``run()``.
final class LoopCallRunner: Sendable {
    typealias Call = @Sendable () async -> Void

    let executor: SingleEventLoopTaskExecutor
    private let calls: AsyncStream<Call>
    private let continuation: AsyncStream<Call>.Continuation

    init(loop: any EventLoop) {
        executor = SingleEventLoopTaskExecutor(loop: loop)
        (calls, continuation) = AsyncStream.makeStream()
    }

    var loop: any EventLoop { executor.loop }

    /// Starts `call`; false once the runner has finished (the agent is draining).
    func submit(_ call: @escaping Call) -> Bool {
        if case .enqueued = continuation.yield(call) { return true }
        return false
    }

    /// Takes no more calls; those submitted still run.
    func finish() {
        continuation.finish()
    }

    /// Runs the submitted calls until ``finish()`` and until every one has ended.
    func run() async {
        await withTaskExecutorPreference(executor) {
            await withDiscardingTaskGroup { group in
                for await call in calls {
                    group.addTask(executorPreference: executor) { await call() }
                }
            }
        }
    }
}
