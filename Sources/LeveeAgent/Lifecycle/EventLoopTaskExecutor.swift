import NIOCore
public import NIOPosix

/// A task executor that runs each job on an event loop of one group: the loop that enqueued it when
/// that loop belongs to the group, else the group's next loop.
///
/// The Guard server's handlers run under this preference. A call's work then stays on the thread that
/// woke it: the handler starts on the loop of the connection that read the request, sends through
/// that loop's upstream connections (`HTTP1Executor`), and resumes on the loop that read the upstream's
/// answer. Without it every call crosses between the event loops
/// and the cooperative pool about four times, and on a small machine each crossing is a thread
/// wake-up of tens of microseconds.
///
/// Work that may block must not run here: it would stall every connection on that loop. The Guard
/// handlers do no blocking I/O.
public final class EventLoopTaskExecutor: TaskExecutor {
    private let group: MultiThreadedEventLoopGroup

    public init(group: MultiThreadedEventLoopGroup) {
        self.group = group
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        group.any().execute {
            job.runSynchronously(on: executor)
        }
    }
}
