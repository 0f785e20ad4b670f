public import GRPCCore
public import LeveeAPI
import LeveeConfiguration
import LeveePolicy

/// `levee.v1.Chaos` on the admin socket: runs an experiment on this agent (``ExperimentRunner``) or
/// across the fleet (``FleetExperiments``) and streams its progress, the report last.
public struct ChaosService: Levee_V1_Chaos.SimpleServiceProtocol {
    let runner: ExperimentRunner
    let fleet: FleetExperiments?
    /// This agent's gossip member name, for the report; empty without gossip.
    let agentName: String

    public init(runner: ExperimentRunner, fleet: FleetExperiments?, agentName: String) {
        self.runner = runner
        self.fleet = fleet
        self.agentName = agentName
    }

    public func runExperiment(
        request: Levee_V1_RunExperimentRequest,
        response: RPCWriter<Levee_V1_ExperimentEvent>,
        context: ServerContext
    ) async throws {
        let file = request.file.isEmpty ? "(experiment)" : request.file
        let experiment: ChaosExperiment
        do {
            experiment = try ChaosExperiment.parse(yaml: request.experimentYaml, file: file)
        } catch {
            throw RPCError(code: .invalidArgument, message: "experiment_yaml: \(error)")
        }
        if let problem = runner.target.problem(with: experiment) {
            throw RPCError(code: .failedPrecondition, message: problem)
        }
        if request.fleet.enabled {
            guard let fleet else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "fleet: this agent has no gossip section, so it has no fleet to run the experiment on"
                )
            }
            try await fleet.run(
                experiment,
                yaml: request.experimentYaml,
                file: file,
                selection: request.fleet,
                response: response
            )
            return
        }
        let handle: ExperimentRunner.Handle
        do {
            handle = try runner.start(experiment)
        } catch {
            throw RPCError(code: .failedPrecondition, message: "\(error)")
        }
        var finished = false
        defer { if !finished { handle.cancel(reason: "the client went away") } }
        try await withTaskCancellationHandler {
            for await progress in handle.progress {
                if case .finished = progress { finished = true }
                try await response.write(Levee_V1_ExperimentEvent(progress, agent: agentName))
            }
        } onCancel: {
            handle.cancel(reason: "the client went away")
        }
    }
}

extension Levee_V1_ExperimentEvent {
    init(_ progress: ExperimentRunner.Progress, agent: String) {
        self.init()
        switch progress {
        case .timeline(let entry): timeline = Levee_V1_TimelineEntry(entry, agent: agent)
        case .sample(let sample): self.sample = Levee_V1_ExperimentSample(sample)
        case .finished(let report): self.report = Levee_V1_ExperimentReport(report, agent: agent)
        }
    }
}

extension Duration {
    /// Whole milliseconds, for the wire.
    var chaosMilliseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(clamping: seconds * 1_000 + attoseconds / 1_000_000_000_000_000)
    }

    var chaosMicroseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }
}

extension Levee_V1_TimelineEntry {
    init(_ entry: ChaosTimelineEntry, agent: String) {
        self.init()
        atMs = entry.at.chaosMilliseconds
        kind = entry.kind.rawValue
        text = entry.text
        self.agent = agent
    }
}

extension Levee_V1_ExperimentSample {
    init(_ sample: ChaosSample) {
        self.init()
        atMs = sample.at.chaosMilliseconds
        level = sample.level.description
        upstreams = sample.upstreams.sorted { $0.key < $1.key }.map { name, observed in
            var upstream = Levee_V1_UpstreamSample()
            upstream.upstream = name
            upstream.calls = UInt32(clamping: observed.calls)
            upstream.failures = UInt32(clamping: observed.failures)
            upstream.p99Us = observed.p99.chaosMicroseconds
            upstream.breaker = Levee_V1_BreakerState(observed.breaker).chaosName
            return upstream
        }
    }
}

extension Levee_V1_BreakerState {
    /// closed, open, half_open, forced_open, forced_closed.
    var chaosName: String {
        switch self {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half_open"
        case .forcedOpen: "forced_open"
        case .forcedClosed: "forced_closed"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}

extension Levee_V1_CheckNumbers {
    init(_ numbers: ChaosCheckNumbers?) {
        self.init()
        guard let numbers else { return }
        measured = true
        calls = UInt32(clamping: numbers.calls)
        failures = UInt32(clamping: numbers.failures)
        errorPercent = numbers.errorPercent
        p99Us = numbers.p99.chaosMicroseconds
        level = numbers.level.description
        held = numbers.held
        violation = numbers.violation
    }
}

extension Levee_V1_ExperimentReport {
    init(_ report: ChaosReport, agent: String, samples includeSamples: Bool = true) {
        self.init()
        name = report.name
        hypothesis = report.hypothesis
        verdict = report.verdict?.rawValue ?? ""
        reason = report.reason
        elapsedMs = report.elapsed.chaosMilliseconds
        self.agent = agent
        checks = report.checks.map { check in
            var entry = Levee_V1_CheckReport()
            entry.check = check.check.description
            entry.before = Levee_V1_CheckNumbers(check.before)
            entry.during = Levee_V1_CheckNumbers(check.during)
            entry.after = Levee_V1_CheckNumbers(check.after)
            entry.held = check.held
            return entry
        }
        timeline = report.timeline.map { Levee_V1_TimelineEntry($0, agent: agent) }
        if includeSamples { samples = report.samples.map(Levee_V1_ExperimentSample.init) }
        windows = report.windows.map { window in
            var entry = Levee_V1_FaultWindow()
            entry.faultID = window.faultID
            entry.upstream = window.upstream
            entry.description_p = window.description
            entry.fromMs = window.from.chaosMilliseconds
            entry.toMs = window.to?.chaosMilliseconds ?? 0
            return entry
        }
    }
}
