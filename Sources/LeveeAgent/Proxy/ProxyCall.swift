import LeveeConfiguration
import NIOCore
import NIOHTTP1

/// One proxied call in progress, driven on its loop (``ProxyService``).
///
/// `@unchecked Sendable`: touched only on the loop of the connection it answers (the futures of that
/// loop's pool call back there, and the runner runs there too).
final class ProxyCall: @unchecked Sendable {
    let runtime: UpstreamRuntime
    var progress: UpstreamRuntime.CallInProgress
    let request: HTTPUpstreamRequest
    let runner: ProxyCallRunner
    /// Answers the app (once).
    let finish: @Sendable (ProxyAnswer) -> Void

    init(
        runtime: UpstreamRuntime,
        progress: UpstreamRuntime.CallInProgress,
        request: HTTPUpstreamRequest,
        runner: ProxyCallRunner,
        finish: @escaping @Sendable (ProxyAnswer) -> Void
    ) {
        self.runtime = runtime
        self.progress = progress
        self.request = request
        self.runner = runner
        self.finish = finish
    }

    /// Takes the call's next step: answers when it has ended, sends its attempt through the loop's
    /// pool (and steps again when the answer comes), or hands it to the runner for a wait, for an
    /// attempt that may be hedged, or for one that an injected fault hits.
    func step() {
        let next = runtime.next(&progress)
        switch next {
        case .finished(let result):
            finish(ProxyAnswer(result))
        case .attempt(_, _, _, _, .some, _), .attempt(_, _, _, _, _, .some):
            // An attempt that may be hedged needs a second one out at once, and one that an injected
            // fault hits may wait on the clock: the async driver runs them (one fault mechanism).
            handOver(next)
        case .attempt(let address, let timeout, let remaining, let number, nil, nil):
            guard
                let executor = runtime.executor as? HTTP1Executor,
                let attempt = executor.executeOnCurrentLoop(
                    request,
                    on: address,
                    timeout: timeout,
                    remaining: remaining
                )
            else {
                handOver(next)
                return
            }
            attempt.whenSuccess { [self] result in
                runtime.attemptFinished(&progress, result, number: number)
                step()
            }
        case .wait:
            handOver(next)
        }
    }

    /// The runtime's async driver finishes the call from `next`, in a task of the runner: it waits,
    /// or makes an attempt through an executor without a loop-bound path.
    private func handOver(_ next: UpstreamRuntime.NextStep) {
        let runtime = runtime
        let finish = finish
        let progress = progress
        let submitted = runner.submit {
            var progress = progress
            let result = await runtime.run(&progress, from: next)
            finish(ProxyAnswer(result))
        }
        if !submitted {
            // Only when the agent is cancelled rather than drained: it is going away with the call.
            finish(.refusal(.serviceUnavailable, "the agent is shutting down"))
        }
    }
}
