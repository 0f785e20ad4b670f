import LeveeConfiguration
import LeveePolicy
import NIOCore
import Synchronization

/// One guarded call driven on an event loop without a task while it only needs attempts (the usual
/// case: admitted at once, one attempt): the attempt is a future of that loop's upstream connection
/// pool, and the call steps on from its callback. A call that must wait (a backoff before a retry, a
/// queue for a bulkhead slot), an attempt that may be hedged or that an injected fault hits, and an
/// upstream without a loop-bound executor (gRPC, TLS) are handed to the loop's ``LoopCallRunner``,
/// where the runtime's async driver finishes the call from the same step.
///
/// The proxy listener drives its calls this way on the loop of the app's connection, and the Guard
/// server its `Call`s on a loop of the group.
///
/// `@unchecked Sendable`: made on any thread, then touched only on its runner's loop (the futures of
/// that loop's pool call back there, and the runner runs there too).
final class LoopCall: @unchecked Sendable {
    let runtime: UpstreamRuntime
    private var progress: UpstreamRuntime.CallInProgress
    private let runner: LoopCallRunner
    /// Called once, on the loop, with the call's result; nil when the agent went away before the
    /// call could end (it was cancelled rather than drained).
    private let finish: @Sendable (CallResult?) -> Void
    /// The attempt out now, when the loop's pool makes it.
    private var attemptOut: HTTP1Exchange?
    /// Cancels the runner's task, once the call has been handed over.
    private var handedOver: CallCancellation?
    private var isCancelled = false

    init(
        runtime: UpstreamRuntime,
        progress: UpstreamRuntime.CallInProgress,
        runner: LoopCallRunner,
        finish: @escaping @Sendable (CallResult?) -> Void
    ) {
        self.runtime = runtime
        self.progress = progress
        self.runner = runner
        self.finish = finish
    }

    /// The loop the call runs on.
    var loop: any EventLoop { runner.loop }

    /// Takes the call's next step: finishes when it has ended, sends its attempt through the loop's
    /// pool (and steps again when the answer comes), or hands it to the runner. On the loop.
    func step() {
        let next = runtime.next(&progress)
        switch next {
        case .finished(let result):
            finish(result)
        case .attempt(_, _, _, _, .some, _), .attempt(_, _, _, _, _, .some):
            // An attempt that may be hedged needs a second one out at once, and one that an injected
            // fault hits may wait on the clock: the async driver runs them (one fault mechanism).
            handOver(next)
        case .attempt(let address, let timeout, let remaining, let number, nil, nil):
            guard !isCancelled else {
                runtime.attemptFinished(
                    &progress,
                    .failed(.cancelledByCaller, detail: "the call was cancelled"),
                    number: number
                )
                step()
                return
            }
            guard
                case .http(let request) = progress.request,
                let executor = runtime.executor as? HTTP1Executor,
                let exchange = executor.startOnCurrentLoop(request, on: address, timeout: timeout, remaining: remaining)
            else {
                handOver(next)
                return
            }
            attemptOut = exchange
            exchange.promise.futureResult.whenSuccess { [self] result in
                attemptOut = nil
                runtime.attemptFinished(&progress, result, number: number)
                step()
            }
        case .wait:
            handOver(next)
        }
    }

    /// The caller gave up (the Guard RPC was cancelled, or its deadline passed): the attempt out ends
    /// as cancelled and the call finishes without another, freeing its bulkhead slot. On the loop.
    func cancel() {
        guard !isCancelled else { return }
        isCancelled = true
        attemptOut?.cancel()
        handedOver?.cancel()
    }

    /// The runtime's async driver finishes the call from `next`, in a task of the runner: it waits,
    /// or makes an attempt through an executor without a loop-bound path.
    private func handOver(_ next: UpstreamRuntime.NextStep) {
        let cancellation = CallCancellation()
        if isCancelled { cancellation.cancel() }
        handedOver = cancellation
        let runtime = runtime
        let finish = finish
        let progress = progress
        let submitted = runner.submit {
            var progress = progress
            let result = await cancellation.run { await runtime.run(&progress, from: next) }
            finish(result)
        }
        if !submitted {
            // Only when the agent is cancelled rather than drained: it is going away with the call.
            finish(nil)
        }
    }
}

/// The event loops' runners, one per loop of the group.
final class LoopCallRunners: Sendable {
    let all: [LoopCallRunner]
    private let turn = Atomic<UInt>(0)

    init(group: any EventLoopGroup) {
        all = group.makeIterator().map { LoopCallRunner(loop: $0) }
    }

    /// The runner of `loop` (the first one if `loop` is not of the group).
    func runner(for loop: any EventLoop) -> LoopCallRunner {
        all.first { $0.loop === loop } ?? all[0]
    }

    /// The runners in turn.
    func next() -> LoopCallRunner {
        all[Int(turn.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(all.count))]
    }
}
