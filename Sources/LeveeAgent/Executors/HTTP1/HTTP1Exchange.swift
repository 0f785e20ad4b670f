import LeveePolicy
import NIOCore

/// One request on one upstream connection, from its write to the end of the answer: completes its
/// promise once, with the answer or with why there is none.
///
/// Made on any thread, then touched only on its loop (hence `@unchecked Sendable`: the caller's task
/// holds it to cancel it through the loop).
final class HTTP1Exchange: @unchecked Sendable {
    let promise: EventLoopPromise<AttemptResult>
    /// The connection the request went on, once it has one: a timeout or a cancellation closes it.
    var connection: HTTP1ConnectionHandler?
    /// When the attempt times out, and the pool whose timer watches for it until the exchange ends
    /// (``HTTP1ConnectionPool/watch(_:until:)``), with the exchange's place in its list.
    var deadline = NIODeadline.distantFuture
    var watcher: HTTP1ConnectionPool?
    var watchSlot = 0
    private(set) var isFinished = false

    init(promise: EventLoopPromise<AttemptResult>) {
        self.promise = promise
    }

    /// The deadline passed first: the exchange fails as timed out, its connection closes.
    func timeOut() {
        guard !isFinished else { return }
        finish(.failed(.timeout, detail: "attempt timed out"))
        connection?.close()
    }

    /// The caller gave up: the exchange ends as cancelled, its connection closes.
    func cancel() {
        guard !isFinished else { return }
        finish(.failed(.cancelledByCaller, detail: "the call was cancelled"))
        connection?.close()
    }

    func finish(_ result: AttemptResult) {
        guard !isFinished else { return }
        isFinished = true
        watcher?.unwatch(self)
        watcher = nil
        connection = nil
        promise.succeed(result)
    }
}
