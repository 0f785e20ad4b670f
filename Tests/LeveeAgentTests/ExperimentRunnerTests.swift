import Foundation
import LeveeAPI
import LeveeAgent
import LeveeClock
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The experiment shell on its own ``ChaosTarget`` protocol: the measurements are a real agent's,
/// from real traffic, and a "fault" turns the upstream server itself sick, so the runner's schedule,
/// verdicts and cleanup are checked without the agent's fault table.
@Suite(.timeLimit(.minutes(2)))
struct ExperimentRunnerTests {
    /// Faults that act on the test server: abort N makes it answer N, clearing makes it healthy again.
    final class ServerFaults: ChaosTarget, Sendable {
        let registry: UpstreamRegistry
        let servers: [String: TestHTTPServer]
        let active = Mutex<[String: String]>([:])  // id -> upstream
        let added = Atomic<Int>(0)

        init(registry: UpstreamRegistry, servers: [String: TestHTTPServer]) {
            self.registry = registry
            self.servers = servers
        }

        func observe(upstreams: [String]) -> ChaosObservation {
            registry.chaosObservation(upstreams: upstreams)
        }

        func addFault(_ fault: ChaosFault, source: String, duration: Duration) throws -> String {
            guard let server = servers[fault.upstream], case .abort(let status) = fault.action else {
                throw AgentHarness.Failure(description: "unsupported fault \(fault)")
            }
            let id = "t\(added.add(1, ordering: .relaxed).newValue)"
            server.behaviour = .respond(status: status, body: "fault")
            active.withLock { $0[id] = fault.upstream }
            return id
        }

        func clearFault(id: String) {
            guard let upstream = active.withLock({ $0.removeValue(forKey: id) }) else { return }
            servers[upstream]?.behaviour = .respond(status: 200, body: "ok")
        }

        func problem(with experiment: ChaosExperiment) -> String? { nil }

        var activeCount: Int { active.withLock { $0.count } }
    }

    static func withRunner(
        _ body: @Sendable (ExperimentRunner, ServerFaults) async throws -> Void
    ) async throws {
        let inventory = try await TestHTTPServer.start()
        let payments = try await TestHTTPServer.start()
        inventory.behaviour = .respond(status: 200, body: "ok")
        payments.behaviour = .respond(status: 200, body: "ok")
        let yaml = """
            service: shop
            upstreams:
              inventory:
                endpoints: ["\(inventory.address)"]
              payments:
                endpoints: ["\(payments.address)"]
                retry: { max_attempts: 1 }
                breaker: { min_calls: 1000 }
            """
        try await AgentHarness.withAgent(yaml: yaml) { agent in
            let target = ServerFaults(
                registry: agent.agent.registry,
                servers: ["inventory": inventory, "payments": payments]
            )
            let runner = ExperimentRunner(
                target: target,
                clock: MonotonicClock(),
                logger: Logger(label: "levee-test", factory: { _ in SwiftLogNoOpLogHandler() }),
                tick: .milliseconds(100)
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runner.run() }
                for upstream in ["inventory", "payments"] {
                    group.addTask {
                        while !Task.isCancelled {
                            _ = try? await agent.call(upstream, "GET", "/", timeoutMs: 2_000)
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                    }
                }
                defer { group.cancelAll() }
                try await eventually("the load loop filled both windows", timeout: .seconds(30)) {
                    let inventory = try await agent.upstream("inventory").recentCalls
                    let payments = try await agent.upstream("payments").recentCalls
                    return inventory >= 20 && payments >= 20
                }
                try await body(runner, target)
            }
        }
    }

    static func experiment(check: String, fault: String, abortWhen: String = "") throws -> ChaosExperiment {
        try ChaosExperiment.parse(
            yaml: """
                name: runner-test
                steady_state:
                  - upstream: \(check)
                    errors_below: 5%
                    min_calls: 20
                method:
                  - fault: { upstream: \(fault), abort: 500 }
                    for: 2s
                recover_within: 20s
                \(abortWhen)
                """,
            file: "runner-test.yaml"
        )
    }

    static func report(_ handle: ExperimentRunner.Handle) async -> ChaosReport? {
        for await progress in handle.progress {
            if case .finished(let report) = progress { return report }
        }
        return nil
    }

    @Test("Held: the faulted upstream is not the one the steady state watches")
    func held() async throws {
        try await Self.withRunner { runner, faults in
            let handle = try runner.start(try Self.experiment(check: "inventory", fault: "payments"))
            let report = try #require(await Self.report(handle))
            #expect(report.verdict == .held, "\(report.reason)")
            #expect(report.windows.count == 1)
            #expect(faults.activeCount == 0)
        }
    }

    @Test("Deviated: the watched upstream itself fails during the method, then recovers")
    func deviated() async throws {
        try await Self.withRunner { runner, faults in
            let handle = try runner.start(try Self.experiment(check: "payments", fault: "payments"))
            let report = try #require(await Self.report(handle))
            #expect(report.verdict == .deviated, "\(report.reason)")
            #expect(report.checks[0].during?.held == false)
            #expect(report.checks[0].after?.held == true)
            #expect(faults.activeCount == 0)
        }
    }

    @Test("Aborted within violated_for + 1 s, the fault cleared, one run at a time")
    func aborted() async throws {
        try await Self.withRunner { runner, faults in
            var experiment = try Self.experiment(check: "payments", fault: "payments")
            experiment.method[0].duration = .seconds(60)
            experiment.abortWhen = ChaosExperiment.AbortRule(violatedFor: .seconds(1))
            let handle = try runner.start(experiment)
            #expect(throws: ExperimentRunner.Busy.self) { _ = try runner.start(experiment) }
            let report = try #require(await Self.report(handle))
            #expect(report.verdict == .aborted, "\(report.reason)")
            // The abort comes violated_for after the violation that lasted (the last one to start).
            let violated = try #require(report.timeline.last { $0.kind == .violation })
            let off = try #require(report.timeline.first { $0.kind == .faultOff })
            #expect(off.at - violated.at >= .seconds(1))
            #expect(off.at - violated.at <= .seconds(2))
            #expect(faults.activeCount == 0)
        }
    }

    @Test("Cancelled by whoever started it: aborted, the fault cleared")
    func cancelled() async throws {
        try await Self.withRunner { runner, faults in
            var experiment = try Self.experiment(check: "inventory", fault: "payments")
            experiment.method[0].duration = .seconds(60)
            let handle = try runner.start(experiment)
            try await eventually("the fault is on") { faults.activeCount == 1 }
            handle.cancel(reason: "test")
            let report = try #require(await Self.report(handle))
            #expect(report.verdict == .aborted)
            #expect(report.reason == "test")
            #expect(faults.activeCount == 0)
        }
    }
}
