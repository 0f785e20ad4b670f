import NIOCore

/// A task executor that runs every job on one event loop.
///
/// The proxy listener runs each call under the executor of the loop that read its request, so that
/// the call, its upstream connection (`HTTP1Executor` takes the pool of the loop it runs on) and the
/// answer's write all happen on that thread, without a wake-up of another. Work that may block must
/// not run here.
final class SingleEventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute {
            job.runSynchronously(on: executor)
        }
    }
}
