import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
public import LeveeGossipNIO
import LeveePolicy

/// Chaos experiments across the fleet, without a control plane: the agent that is asked sends the
/// experiment to the gossip pool's Levee agents with a Serf query (`levee-chaos-start`), each agent
/// decides from a hash of the run id and its own name whether it is in the share and runs the
/// experiment on itself (``ExperimentRunner``), the caller polls them (`levee-chaos-status`), and
/// when one aborts it tells all (`levee-chaos-abort`).
///
/// Only members with a `levee` tag take part (a plain `serf agent` in the pool is never picked).
/// Queries and answers are small (Serf limits both to 1024 bytes), so the experiment travels as
/// its YAML without comments, and each answer is a few compact lines.
public struct FleetExperiments: Sendable {
    public static let startQuery = "levee-chaos-start"
    public static let statusQuery = "levee-chaos-status"
    public static let abortQuery = "levee-chaos-abort"

    let node: GossipNode
    let runner: ExperimentRunner
    /// How often the caller polls the agents.
    let pollInterval: Duration
    /// How long each query collects answers.
    let queryTimeout: Duration

    public init(
        node: GossipNode,
        runner: ExperimentRunner,
        pollInterval: Duration = .seconds(1),
        queryTimeout: Duration = .milliseconds(800)
    ) {
        self.node = node
        self.runner = runner
        self.pollInterval = pollInterval
        self.queryTimeout = queryTimeout
    }

    // MARK: The caller

    /// Runs `experiment` on the selected share of the fleet and streams what happens; the last event
    /// is the fleet's report, with one report per agent.
    func run(
        _ experiment: ChaosExperiment,
        yaml: String,
        file: String,
        selection: Levee_V1_FleetSelection,
        response: RPCWriter<Levee_V1_ExperimentEvent>
    ) async throws {
        let percent = selection.percent == 0 ? 100 : selection.percent
        guard percent > 0 && percent <= 100 else {
            throw RPCError(code: .invalidArgument, message: "fleet.percent: \(percent) is not in (0, 100]")
        }
        let compact = Self.compactYAML(yaml, file: file, same: experiment)
        let runID = "fleet-\(UInt32.random(in: 0...UInt32.max))"
        let start = FleetStart(runID: runID, percent: percent, file: file, yaml: compact)
        var filterTags = ["levee": ".+"]
        for (key, value) in selection.tags { filterTags[key] = "^" + Self.escapeRegex(value) + "$" }
        let began = ContinuousClock.now
        func at() -> UInt64 { (ContinuousClock.now - began).chaosMilliseconds }
        func note(_ kind: String, _ text: String, agent: String) async throws {
            var event = Levee_V1_ExperimentEvent()
            var entry = Levee_V1_TimelineEntry()
            entry.atMs = at()
            entry.kind = kind
            entry.text = text
            entry.agent = agent
            event.timeline = entry
            try await response.write(event)
        }

        let answers: [GossipQueryAnswer]
        do {
            answers = try await node.query(
                name: Self.startQuery,
                payload: Array(start.encoded.utf8),
                filterTags: filterTags,
                timeout: queryTimeout * 2
            )
        } catch {
            throw RPCError(
                code: .failedPrecondition,
                message: "fleet: could not send the experiment to the pool: \(error) (an experiment file for "
                    + "--fleet must fit a Serf query: about 900 bytes without comments)"
            )
        }
        var joined: [String] = []
        var refused: [String] = []
        for answer in answers.sorted(by: { $0.from < $1.from }) {
            let text = String(decoding: answer.payload, as: UTF8.self)
            if text == "joined" {
                joined.append(answer.from)
                try await note("start", "joined the experiment", agent: answer.from)
            } else if text.hasPrefix("error ") {
                refused.append("\(answer.from): \(text.dropFirst(6))")
                try await note("abort", "refused: \(text.dropFirst(6))", agent: answer.from)
            }
        }
        guard !joined.isEmpty else {
            let detail = refused.isEmpty ? "" : ": " + refused.joined(separator: "; ")
            throw RPCError(
                code: .failedPrecondition,
                message: "fleet: no Levee agent joined the experiment (\(answers.count) answered, "
                    + "\(String(format: "%g", percent))% share\(selection.tags.isEmpty ? "" : ", tags \(selection.tags)"))\(detail)"
            )
        }
        if !refused.isEmpty {
            // Some agents could not run it: stop the ones that did; the report says why.
            _ = try? await node.query(
                name: Self.abortQuery,
                payload: Array("\(runID)\nan agent refused the experiment".utf8),
                filterNodes: joined,
                timeout: queryTimeout
            )
        }

        var statuses: [String: FleetStatus] = [:]
        var lastSeen: [String: ContinuousClock.Instant] = [:]
        for agent in joined { lastSeen[agent] = .now }
        var abortSent = !refused.isEmpty
        // An agent that stops answering is given up on after this long without an answer.
        let lostAfter = Duration.seconds(15)
        let deadline = ContinuousClock.now + experiment.methodDuration + experiment.recoverWithin + .seconds(60)
        while true {
            if Task.isCancelled && !abortSent {
                abortSent = true
                _ = try? await node.query(
                    name: Self.abortQuery,
                    payload: Array("\(runID)\nthe client went away".utf8),
                    filterNodes: joined,
                    timeout: .milliseconds(1)
                )
                throw CancellationError()
            }
            let polled =
                (try? await node.query(
                    name: Self.statusQuery,
                    payload: Array(runID.utf8),
                    filterNodes: joined,
                    timeout: queryTimeout
                )) ?? []
            for answer in polled {
                guard let status = FleetStatus(String(decoding: answer.payload, as: UTF8.self)) else { continue }
                lastSeen[answer.from] = .now
                let previous = statuses[answer.from]
                statuses[answer.from] = status
                if previous?.phase != status.phase {
                    let text =
                        status.verdict.isEmpty
                        ? "phase \(status.phase)" : "verdict \(status.verdict): \(status.reason)"
                    try await note(status.verdict.isEmpty ? "phase" : "end", text, agent: answer.from)
                }
            }
            for agent in joined where statuses[agent]?.verdict.isEmpty ?? true {
                if let seen = lastSeen[agent], ContinuousClock.now - seen > lostAfter {
                    var lost = statuses[agent] ?? FleetStatus()
                    lost.phase = "finished"
                    lost.verdict = ChaosVerdict.aborted.rawValue
                    lost.reason = "the agent stopped answering for \(ChaosFormat.duration(lostAfter))"
                    statuses[agent] = lost
                    try await note("abort", lost.reason, agent: agent)
                }
            }
            if !abortSent, let aborted = statuses.first(where: { $0.value.verdict == ChaosVerdict.aborted.rawValue }) {
                abortSent = true
                try await note("abort", "aborted on \(aborted.key): stopping the experiment on every agent", agent: "")
                _ = try? await node.query(
                    name: Self.abortQuery,
                    payload: Array("\(runID)\naborted on \(aborted.key): \(aborted.value.reason)".utf8),
                    filterNodes: joined,
                    timeout: queryTimeout
                )
            }
            if joined.allSatisfy({ !(statuses[$0]?.verdict.isEmpty ?? true) }) { break }
            if ContinuousClock.now > deadline {
                for agent in joined where statuses[agent]?.verdict.isEmpty ?? true {
                    statuses[agent, default: FleetStatus()].verdict = ChaosVerdict.aborted.rawValue
                    statuses[agent, default: FleetStatus()].reason = "no verdict before the fleet run's deadline"
                }
                break
            }
            try? await Task.sleep(for: pollInterval)
        }

        var report = Levee_V1_ExperimentReport()
        report.name = experiment.name
        report.hypothesis = experiment.hypothesis
        report.elapsedMs = at()
        report.agents = joined.map { agent in
            statuses[agent, default: FleetStatus()].report(for: experiment, agent: agent)
        }
        let verdicts = report.agents.map(\.verdict)
        let fleetVerdict: ChaosVerdict =
            verdicts.contains(ChaosVerdict.aborted.rawValue) || !refused.isEmpty
            ? .aborted
            : verdicts.contains(ChaosVerdict.deviated.rawValue)
                ? .deviated : verdicts.contains(ChaosVerdict.notSteady.rawValue) ? .notSteady : .held
        report.verdict = fleetVerdict.rawValue
        let counts = Dictionary(grouping: verdicts, by: { $0 }).mapValues(\.count)
        report.reason =
            "\(joined.count) agent(s): "
            + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            + (refused.isEmpty ? "" : "; refused: " + refused.joined(separator: "; "))
        var event = Levee_V1_ExperimentEvent()
        event.report = report
        try await response.write(event)
    }

    // MARK: Every agent

    /// Answers the fleet's queries; called for every query the agent's gossip member receives
    /// (its own included). Returns the answer, or nil for a query that is not ours or not for us.
    func answer(_ query: GossipQuery, localName: String) -> [UInt8]? {
        let text = String(decoding: query.payload ?? [], as: UTF8.self)
        switch query.name {
        case Self.startQuery:
            guard let start = FleetStart(text) else { return Array("error malformed levee-chaos-start".utf8) }
            guard Self.isInShare(runID: start.runID, member: localName, percent: start.percent) else { return nil }
            do {
                let experiment = try ChaosExperiment.parse(yaml: start.yaml, file: start.file)
                if let problem = runner.target.problem(with: experiment) {
                    return Self.bounded("error \(problem)")
                }
                _ = try runner.start(experiment, runID: start.runID, cancelWhenAbandoned: false)
                return Array("joined".utf8)
            } catch {
                return Self.bounded("error \(error)")
            }
        case Self.statusQuery:
            guard let status = runner.status, status.runID == text else { return nil }
            return Self.bounded(FleetStatus(status).encoded)
        case Self.abortQuery:
            let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            guard let runID = lines.first else { return nil }
            runner.cancel(runID: String(runID), reason: lines.count > 1 ? String(lines[1]) : "aborted by the fleet")
            return nil
        default:
            return nil
        }
    }

    /// Whether `member` is in the `percent` share of run `runID`: a stable hash (FNV-1a) of both, so
    /// each agent decides alone and a rerun picks another share.
    static func isInShare(runID: String, member: String, percent: Double) -> Bool {
        if percent >= 100 { return true }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (runID + "/" + member).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Double(hash % 10_000) < percent * 100
    }

    /// At most the Serf response limit (less the envelope).
    static func bounded(_ text: String) -> [UInt8] {
        Array(text.utf8.prefix(900))
    }

    /// The YAML without whole-line comments and blank lines, when that reads to the same experiment.
    static func compactYAML(_ yaml: String, file: String, same experiment: ChaosExperiment) -> String {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> Substring? in
            let trimmed = line.drop { $0 == " " }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
            // A trailing comment: `key: value   # words` (not inside quotes).
            if !line.contains("\""), !line.contains("'"), let hash = line.range(of: " #") {
                var kept = line[..<hash.lowerBound]
                while kept.last == " " { kept = kept.dropLast() }
                return kept
            }
            return line
        }
        let compact = lines.joined(separator: "\n")
        guard let reparsed = try? ChaosExperiment.parse(yaml: compact, file: file), reparsed == experiment else {
            return yaml
        }
        return compact
    }

    static func escapeRegex(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "\\^$.|?*+()[]{}".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}

/// `levee-chaos-start`'s payload: four lines of header, then the YAML.
struct FleetStart {
    var runID: String
    var percent: Double
    var file: String
    var yaml: String

    var encoded: String { "\(runID)\n\(percent)\n\(file)\n\(yaml)" }

    init(runID: String, percent: Double, file: String, yaml: String) {
        self.runID = runID
        self.percent = percent
        self.file = file
        self.yaml = yaml
    }

    init?(_ text: String) {
        let parts = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let percent = Double(parts[1]) else { return nil }
        self.init(runID: String(parts[0]), percent: percent, file: String(parts[2]), yaml: String(parts[3]))
    }
}

/// `levee-chaos-status`'s answer: `phase|verdict|elapsed_ms|reason` and one line per check,
/// `held|before|during|after`, each `calls,failures,error_percent,p99_us,level` or `-`.
struct FleetStatus {
    var phase = "pending"
    var verdict = ""
    var elapsedMs: UInt64 = 0
    var reason = ""
    var checks: [(held: Bool, numbers: [ChaosCheckNumbers?])] = []

    init() {}

    init(_ status: ExperimentRunner.Status) {
        phase = status.phase.rawValue
        verdict = status.report.verdict?.rawValue ?? ""
        elapsedMs = status.report.elapsed.chaosMilliseconds
        reason = String(status.report.reason.prefix(300))
        checks = status.report.checks.map { ($0.held, [$0.before, $0.during, $0.after]) }
    }

    var encoded: String {
        var lines = [
            [phase, verdict, "\(elapsedMs)", reason.replacingOccurrences(of: "\n", with: " ")].joined(separator: "|")
        ]
        for check in checks {
            let numbers = check.numbers.map { numbers -> String in
                guard let numbers else { return "-" }
                return [
                    "\(numbers.calls)", "\(numbers.failures)",
                    String(ChaosFormat.percent(numbers.errorPercent).dropLast()),
                    "\(numbers.p99.chaosMicroseconds)", numbers.level.description, numbers.held ? "1" : "0",
                ].joined(separator: ",")
            }
            lines.append(([check.held ? "1" : "0"] + numbers).joined(separator: "|"))
        }
        return lines.joined(separator: "\n")
    }

    init?(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let head = lines.first else { return nil }
        let fields = head.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 4, let elapsed = UInt64(fields[2]) else { return nil }
        phase = String(fields[0])
        verdict = String(fields[1])
        elapsedMs = elapsed
        reason = String(fields[3])
        for line in lines.dropFirst() {
            let parts = line.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            let numbers = parts.dropFirst().map { part -> ChaosCheckNumbers? in
                let values = part.split(separator: ",")
                guard values.count == 6, let calls = Int(values[0]), let failures = Int(values[1]),
                    let errors = Double(values[2]), let p99 = Int64(values[3])
                else { return nil }
                let level = ServiceLevel.allCases.first { $0.description == values[4] } ?? .full
                return ChaosCheckNumbers(
                    calls: calls,
                    failures: failures,
                    errorPercent: errors,
                    p99: .microseconds(p99),
                    level: level,
                    held: values[5] == "1"
                )
            }
            checks.append((parts[0] == "1", numbers))
        }
    }

    func report(for experiment: ChaosExperiment, agent: String) -> Levee_V1_ExperimentReport {
        var report = Levee_V1_ExperimentReport()
        report.name = experiment.name
        report.hypothesis = experiment.hypothesis
        report.agent = agent
        report.verdict = verdict
        report.reason = reason
        report.elapsedMs = elapsedMs
        report.checks = experiment.steadyState.enumerated().map { index, check in
            var entry = Levee_V1_CheckReport()
            entry.check = check.description
            if checks.indices.contains(index) {
                entry.held = checks[index].held
                entry.before = Levee_V1_CheckNumbers(checks[index].numbers[0])
                entry.during = Levee_V1_CheckNumbers(checks[index].numbers[1])
                entry.after = Levee_V1_CheckNumbers(checks[index].numbers[2])
            }
            return entry
        }
        return report
    }
}
