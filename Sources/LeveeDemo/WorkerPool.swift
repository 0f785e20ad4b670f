import NIOCore
import NIOHTTP1
import Synchronization

/// Orders' fixed pool of workers, as a servlet container has: `workers` threads, each handling one
/// request at a time, and a bounded accept queue. A request finds the queue full, or waits in it
/// longer than the client-visible timeout, and its page fails with 503.
final class WorkerPool: Sendable {
    /// One request waiting for, or held by, a worker.
    struct Job: Sendable {
        var id: Int
        var page: Sample.Page
        var answer: CheckedContinuation<DemoResponse, Never>
    }

    /// What Orders' `/stats` reports.
    struct Stats: Sendable {
        var workers: Int
        var busy: Int
        var onPayments: Int
        var queued: Int
    }

    private struct State {
        var queue = CircularBuffer<Job>()
        var idleWorkers: [CheckedContinuation<Job, Never>] = []
        var nextID = 0
        var busy = 0
        var onPayments = 0
    }

    let workers: Int
    let queueLimit: Int
    let queueTimeout: TimeAmount
    private let state = Mutex(State())

    init(workers: Int, queueLimit: Int, queueTimeout: TimeAmount) {
        self.workers = workers
        self.queueLimit = queueLimit
        self.queueTimeout = queueTimeout
    }

    var stats: Stats {
        state.withLock {
            Stats(workers: workers, busy: $0.busy, onPayments: $0.onPayments, queued: $0.queue.count)
        }
    }

    /// Hands `page` to a worker and returns its answer, or 503 when the queue is full or the request
    /// waited `queueTimeout` for a worker.
    func submit(_ page: Sample.Page, on eventLoop: any EventLoop) async -> DemoResponse {
        await withCheckedContinuation { answer in
            enum Action {
                case hand(CheckedContinuation<Job, Never>, Job)
                case queued(Int)
                case full
            }
            let action = state.withLock { state -> Action in
                state.nextID += 1
                let job = Job(id: state.nextID, page: page, answer: answer)
                if let worker = state.idleWorkers.popLast() {
                    state.busy += 1
                    return .hand(worker, job)
                }
                guard state.queue.count < queueLimit else { return .full }
                state.queue.append(job)
                return .queued(job.id)
            }
            switch action {
            case .hand(let worker, let job):
                worker.resume(returning: job)
            case .queued(let id):
                eventLoop.scheduleTask(in: queueTimeout) { self.expire(id) }
            case .full:
                answer.resume(
                    returning: .text(.serviceUnavailable, "orders: every worker is busy and the queue is full")
                )
            }
        }
    }

    /// Fails a request still waiting for a worker when its time is up.
    private func expire(_ id: Int) {
        let expired = state.withLock { state -> Job? in
            guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return nil }
            return state.queue.remove(at: index)
        }
        expired?.answer.resume(
            returning: .text(.serviceUnavailable, "orders: no worker became free within the request's timeout")
        )
    }

    /// Runs the pool's workers until the task is cancelled (Orders runs until it is killed).
    func run(handler: @escaping @Sendable (Sample.Page) async -> DemoResponse) async {
        await withDiscardingTaskGroup { group in
            for _ in 0..<workers {
                group.addTask {
                    while !Task.isCancelled {
                        let job = await self.next()
                        let response = await handler(job.page)
                        self.state.withLock { $0.busy -= 1 }
                        job.answer.resume(returning: response)
                    }
                }
            }
        }
    }

    private func next() async -> Job {
        await withCheckedContinuation { worker in
            let job = state.withLock { state -> Job? in
                guard let job = state.queue.popFirst() else {
                    state.idleWorkers.append(worker)
                    return nil
                }
                state.busy += 1
                return job
            }
            if let job { worker.resume(returning: job) }
        }
    }

    /// Counts a worker waiting on Payments for the duration of `body`.
    func waitingOnPayments<R: Sendable>(_ body: () async -> R) async -> R {
        state.withLock { $0.onPayments += 1 }
        defer { state.withLock { $0.onPayments -= 1 } }
        return await body()
    }
}
