public import LeveeClock
public import LeveePolicy
public import Logging
public import ServiceLifecycle
import Synchronization

/// Runs chaos experiments on this agent, one at a time: the shell around ``ChaosRun``. Every few
/// hundred milliseconds it reads the agent's measurements through its ``ChaosTarget``, feeds them to
/// the run and carries out what the run asks (faults on, faults off), and streams the timeline, the
/// samples and, last, the report.
///
/// Runs are children of this service's task group, so that every fault an experiment added is
/// removed when it ends, when it aborts, when whoever started it goes away (``ExperimentHandle/cancel(reason:)``)
/// and when the agent stops (graceful shutdown cancels the runs; each clears its faults on the way
/// out).
public final class ExperimentRunner: Service, Sendable {
    /// What a run tells whoever started it.
    public enum Progress: Sendable {
        case timeline(ChaosTimelineEntry)
        case sample(ChaosSample)
        /// The last message.
        case finished(ChaosReport)
    }

    /// Why an experiment cannot start.
    public struct Busy: Error, CustomStringConvertible {
        public var running: String
        public var description: String {
            "an experiment is already running on this agent (\(running)); one at a time"
        }
    }

    /// The state of this agent's current or last run, for the fleet's status queries.
    public struct Status: Sendable {
        public var runID: String
        public var phase: ChaosRun.Phase
        public var report: ChaosReport
    }

    struct Job: Sendable {
        var experiment: ChaosExperiment
        var runID: String
        var continuation: AsyncStream<Progress>.Continuation
        var stop: StopFlag
    }

    /// Set from outside (a client gone, a fleet abort); the run checks it at each tick.
    final class StopFlag: Sendable {
        let reason = Mutex<String?>(nil)
        func set(_ text: String) { reason.withLock { if $0 == nil { $0 = text } } }
        var value: String? { reason.withLock { $0 } }
    }

    private struct State {
        var running: (name: String, runID: String, stop: StopFlag)?
        var status: Status?
        var accepting = true
    }

    let target: any ChaosTarget
    let clock: any InstantClock
    let logger: Logger
    /// How often the run reads the measurements.
    let tick: Duration
    private let state = Mutex(State())
    private let jobs: AsyncStream<Job>
    private let jobsContinuation: AsyncStream<Job>.Continuation

    public init(target: any ChaosTarget, clock: any InstantClock, logger: Logger, tick: Duration = .milliseconds(200)) {
        self.target = target
        self.clock = clock
        self.logger = logger
        self.tick = tick
        (jobs, jobsContinuation) = AsyncStream.makeStream(of: Job.self)
    }

    /// A run in progress: its progress stream, and a way to stop it.
    public struct Handle: Sendable {
        public let runID: String
        public let progress: AsyncStream<Progress>
        let stop: StopFlag

        /// Stops the run: every fault off, verdict `aborted` with `reason`.
        public func cancel(reason: String) {
            stop.set(reason)
        }
    }

    /// Starts `experiment`; throws ``Busy`` while another runs (or once the agent is stopping).
    ///
    /// With `cancelWhenAbandoned` (the CLI's runs), the run stops when its progress stream is dropped;
    /// a fleet run keeps going without a reader and is stopped by an abort query.
    public func start(
        _ experiment: ChaosExperiment,
        runID: String? = nil,
        cancelWhenAbandoned: Bool = true
    ) throws(Busy) -> Handle {
        let runID = runID ?? "run-\(UInt32.random(in: 0...UInt32.max))"
        let stop = StopFlag()
        let (stream, continuation) = AsyncStream.makeStream(of: Progress.self, bufferingPolicy: .bufferingNewest(4096))
        let refusal: Busy? = state.withLock { state in
            guard state.accepting else { return Busy(running: "the agent is stopping") }
            if let running = state.running { return Busy(running: "\(running.name), \(running.runID)") }
            state.running = (experiment.name, runID, stop)
            return nil
        }
        if let refusal { throw refusal }
        if cancelWhenAbandoned {
            continuation.onTermination = { termination in
                if case .cancelled = termination { stop.set("the client went away") }
            }
        }
        jobsContinuation.yield(Job(experiment: experiment, runID: runID, continuation: continuation, stop: stop))
        return Handle(runID: runID, progress: stream, stop: stop)
    }

    /// The current run, or the last one, for status queries.
    public var status: Status? {
        state.withLock { $0.status }
    }

    /// Stops the current run if it is `runID` (or any run when nil).
    public func cancel(runID: String?, reason: String) {
        let stop = state.withLock { state -> StopFlag? in
            guard let running = state.running, runID == nil || running.runID == runID else { return nil }
            return running.stop
        }
        stop?.set(reason)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await job in jobs.cancelOnGracefulShutdown() {
                group.addTask { await self.execute(job) }
            }
            // Shutting down: no new runs; those in progress are cancelled and clear their faults.
            state.withLock { $0.accepting = false }
            group.cancelAll()
        }
    }

    // MARK: One run

    private func execute(_ job: Job) async {
        var run = ChaosRun(experiment: job.experiment)
        var faults: [Int: String] = [:]
        var sentTimeline = 0
        var sentSamples = 0
        let source = "experiment \(job.experiment.name)"
        logger.notice(
            "chaos experiment \(job.experiment.name) started",
            metadata: ["experiment": "\(job.experiment.name)", "run": "\(job.runID)"]
        )

        func carryOut(_ actions: [ChaosRun.Action]) {
            var pending = actions
            while !pending.isEmpty {
                let action = pending.removeFirst()
                switch action {
                case .addFault(let step, let fault):
                    // The fault table's own expiry is a backstop: the run clears it on time, and a
                    // crashed agent forgets it anyway.
                    let duration = job.experiment.method[step].duration + .seconds(5)
                    do {
                        let id = try target.addFault(fault, source: source, duration: duration)
                        faults[step] = id
                        run.faultAdded(step: step, id: id, now: clock.now())
                    } catch {
                        pending += run.faultFailed(step: step, error: "\(error)", now: clock.now())
                    }
                case .clearFault(let step):
                    if let id = faults.removeValue(forKey: step) { target.clearFault(id: id) }
                case .finish:
                    break
                }
            }
        }

        func publish() {
            let report = run.report
            while sentTimeline < report.timeline.count {
                job.continuation.yield(.timeline(report.timeline[sentTimeline]))
                sentTimeline += 1
            }
            while sentSamples < report.samples.count {
                job.continuation.yield(.sample(report.samples[sentSamples]))
                sentSamples += 1
            }
            let status = Status(runID: job.runID, phase: run.phase, report: report)
            state.withLock { $0.status = status }
        }

        let upstreams = job.experiment.upstreams
        while run.phase != .finished {
            if let reason = job.stop.value {
                carryOut(run.cancel(reason: reason, now: clock.now()))
            } else if Task.isCancelled {
                carryOut(run.cancel(reason: "the agent is stopping", now: clock.now()))
            } else {
                carryOut(run.observe(target.observe(upstreams: upstreams), now: clock.now()))
            }
            publish()
            if run.phase == .finished { break }
            try? await clock.sleep(until: clock.now() + tick)
        }
        // Whatever happened, no fault of this run outlives it.
        for id in faults.values { target.clearFault(id: id) }
        publish()
        let report = run.report
        logger.notice(
            "chaos experiment \(job.experiment.name): \(report.verdict?.rawValue ?? "?"): \(report.reason)",
            metadata: [
                "experiment": "\(job.experiment.name)", "run": "\(job.runID)",
                "verdict": "\(report.verdict?.rawValue ?? "?")",
            ]
        )
        job.continuation.yield(.finished(report))
        job.continuation.finish()
        state.withLock { state in
            if state.running?.runID == job.runID { state.running = nil }
        }
    }
}
