import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeAPI
import LeveeConfiguration
import LeveePolicy
import UnixSignals

/// `levee chaos`: chaos experiments.
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Chaos experiments: a steady state, a hypothesis, faults, and a verdict.",
        subcommands: [ChaosRunCommand.self]
    )
}

/// `levee chaos run EXPERIMENT.yaml`: runs an experiment on the agent (or, with `--fleet`, on a share of
/// the gossip pool's agents) and prints the timeline as it happens, then the report.
struct ChaosRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a chaos experiment file; exit 0 only when the hypothesis held.",
        discussion: """
            The verdict is held, deviated, aborted or not_steady; the exit code is 0 only for held \
            (1 otherwise). Ctrl-C stops the experiment: the agent removes every fault it added.
            """
    )

    @Argument(help: "The experiment file (YAML).")
    var experiment: String

    @Option(help: "Write an SVG chart of error % and p99 over time, the fault windows shaded.")
    var report: String?

    @Flag(help: "Run it on the gossip pool's Levee agents at once (Serf queries), not just this agent.")
    var fleet = false

    @Option(help: "With --fleet: the share of the matching agents that take part, in percent.")
    var percent: Double = 100

    @Option(name: .customLong("tag"), help: "With --fleet: only agents with this gossip tag, K=V (repeatable).")
    var tags: [String] = []

    @OptionGroup var sockets: SocketOptions

    func validate() throws {
        guard percent > 0 && percent <= 100 else { throw ValidationError("--percent must be in (0, 100]") }
        for tag in tags where !tag.contains("=") { throw ValidationError("--tag \(tag): expected K=V") }
        if !fleet && (!tags.isEmpty || percent != 100) {
            throw ValidationError("--percent and --tag go with --fleet")
        }
    }

    func run() async throws {
        // Read and check the file here first: its errors name the file, the key path and what was
        // expected, before any agent is bothered.
        let parsed: ChaosExperiment
        let yaml: String
        do {
            parsed = try ChaosExperiment.load(contentsOf: experiment)
            yaml = String(decoding: try Data(contentsOf: URL(fileURLWithPath: experiment)), as: UTF8.self)
        } catch {
            FileHandle.standardError.write(Data("levee: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var request = Levee_V1_RunExperimentRequest()
        request.experimentYaml = yaml
        request.file = experiment
        request.fleet.enabled = fleet
        request.fleet.percent = percent
        for tag in tags {
            let parts = tag.split(separator: "=", maxSplits: 1)
            request.fleet.tags[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        let json = sockets.json
        let call = request
        if !json {
            print("experiment \(parsed.name)\(fleet ? " across the fleet" : ""): \(parsed.hypothesis)")
        }

        // Ctrl-C ends the call; the agent sees its client go, stops the experiment and removes its
        // faults.
        let interrupts = await UnixSignalsSequence(trapping: .sigint)
        let final: Levee_V1_ExperimentReport? = try await sockets.withAgent(at: sockets.adminSocketPath) { client in
            try await withThrowingTaskGroup(of: Levee_V1_ExperimentReport?.self) { group in
                group.addTask {
                    try await Levee_V1_Chaos.Client(wrapping: client).runExperiment(call) { response in
                        var last: Levee_V1_ExperimentReport?
                        for try await event in response.messages {
                            switch event.event {
                            case .timeline(let entry):
                                if !json {
                                    print(Self.line(entry))
                                    fflush(nil)  // as it happens, also into a pipe or a file
                                }
                            case .report(let report):
                                last = report
                            case .sample, .none:
                                break
                            }
                        }
                        return last
                    }
                }
                group.addTask {
                    for await _ in interrupts {
                        FileHandle.standardError.write(
                            Data("levee: interrupted: the agent removes the experiment's faults\n".utf8)
                        )
                        throw ExitCode(130)
                    }
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
        }
        guard let final else {
            FileHandle.standardError.write(Data("levee: the agent ended the experiment without a report\n".utf8))
            throw ExitCode(1)
        }
        if json {
            printJSON(Self.json(final))
        } else {
            Self.printReport(final)
        }
        if let report {
            do {
                try ChaosChart(report: final).svg.write(toFile: report, atomically: true, encoding: .utf8)
                if !json { print("chart: \(report)") }
            } catch {
                FileHandle.standardError.write(Data("levee: --report \(report): \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        if final.verdict != ChaosVerdict.held.rawValue { throw ExitCode(1) }
    }

    // MARK: Text

    static func seconds(_ milliseconds: UInt64) -> String {
        String(format: "%.1fs", Double(milliseconds) / 1_000)
    }

    static func line(_ entry: Levee_V1_TimelineEntry) -> String {
        let agent = entry.agent.isEmpty ? "" : "[\(entry.agent)] "
        return "  +\(seconds(entry.atMs).padding(toLength: 7, withPad: " ", startingAt: 0)) \(agent)\(entry.text)"
    }

    static func cell(_ numbers: Levee_V1_CheckNumbers, check: String) -> String {
        guard numbers.measured else { return "-" }
        let mark = numbers.held ? "ok" : "FAIL"
        if check.hasPrefix("service level") { return "\(mark) \(numbers.level)" }
        let errors = ChaosFormat.percent(numbers.errorPercent)
        let p99 = ChaosFormat.duration(.microseconds(Int64(clamping: numbers.p99Us)))
        return "\(mark) \(numbers.calls) calls, \(errors) err, p99 \(p99)"
    }

    static func printReport(_ report: Levee_V1_ExperimentReport) {
        print("")
        print("verdict: \(report.verdict.uppercased()) after \(seconds(report.elapsedMs)): \(report.reason)")
        let agents = report.agents.isEmpty ? [report] : report.agents
        for agent in agents {
            print("")
            if !report.agents.isEmpty {
                print("agent \(agent.agent): \(agent.verdict.uppercased()): \(agent.reason)")
            }
            printTable(
                ["CHECK", "BEFORE", "DURING (WORST)", "AFTER"],
                agent.checks.map { check in
                    [
                        check.check, cell(check.before, check: check.check), cell(check.during, check: check.check),
                        cell(check.after, check: check.check),
                    ]
                }
            )
            for violation in agent.checks.flatMap({ [$0.before, $0.during, $0.after] }).map(\.violation)
            where !violation.isEmpty {
                print("  violated: \(violation)")
            }
        }
        if !report.windows.isEmpty {
            print("")
            print("faults:")
            for window in report.windows {
                let end = window.toMs == 0 ? "…" : seconds(window.toMs)
                print(
                    "  \(window.faultID) \(window.upstream) \(window.description_p): +\(seconds(window.fromMs)) to +\(end)"
                )
            }
        }
    }

    // MARK: JSON

    static func json(_ numbers: Levee_V1_CheckNumbers) -> Any {
        guard numbers.measured else { return NSNull() }
        return [
            "calls": Int(numbers.calls), "failures": Int(numbers.failures), "error_percent": numbers.errorPercent,
            "p99_us": Int(numbers.p99Us), "level": numbers.level, "held": numbers.held,
            "violation": numbers.violation,
        ]
    }

    static func json(_ report: Levee_V1_ExperimentReport) -> [String: Any] {
        var object: [String: Any] = [
            "name": report.name, "hypothesis": report.hypothesis, "verdict": report.verdict,
            "reason": report.reason, "elapsed_ms": Int(report.elapsedMs),
            "checks": report.checks.map { check -> [String: Any] in
                [
                    "check": check.check, "held": check.held, "before": json(check.before),
                    "during": json(check.during), "after": json(check.after),
                ]
            },
            "timeline": report.timeline.map { entry -> [String: Any] in
                var item: [String: Any] = ["at_ms": Int(entry.atMs), "kind": entry.kind, "text": entry.text]
                if !entry.agent.isEmpty { item["agent"] = entry.agent }
                return item
            },
            "faults": report.windows.map { window -> [String: Any] in
                [
                    "id": window.faultID, "upstream": window.upstream, "description": window.description_p,
                    "from_ms": Int(window.fromMs), "to_ms": Int(window.toMs),
                ]
            },
            "samples": report.samples.map { sample -> [String: Any] in
                [
                    "at_ms": Int(sample.atMs), "level": sample.level,
                    "upstreams": sample.upstreams.map { upstream -> [String: Any] in
                        [
                            "upstream": upstream.upstream, "calls": Int(upstream.calls),
                            "failures": Int(upstream.failures), "p99_us": Int(upstream.p99Us),
                            "breaker": upstream.breaker,
                        ]
                    },
                ]
            },
        ]
        if !report.agent.isEmpty { object["agent"] = report.agent }
        if !report.agents.isEmpty { object["agents"] = report.agents.map { json($0) } }
        return object
    }
}
