import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeTestKit
import Testing

/// `levee chaos run` end to end: a real agent, real upstream servers, real traffic from a load loop
/// of Guard calls, and experiments run through the Chaos service on the admin socket.
@Suite(.timeLimit(.minutes(2)))
struct ChaosExperimentTests {
    static func configuration(inventory: String, payments: String) -> String {
        """
        service: shop
        chaos: { enabled: true }
        upstreams:
          inventory:
            endpoints: ["\(inventory)"]
          payments:
            endpoints: ["\(payments)"]
            retry: { max_attempts: 1 }
            breaker: { min_calls: 1000 }
        """
    }

    /// Runs `body` with an agent in front of two healthy servers and a load loop calling both
    /// (about a hundred calls a second each) until `body` returns.
    static func withLoadedAgent<R: Sendable>(_ body: (AgentHarness) async throws -> R) async throws -> R {
        let inventory = try await TestHTTPServer.start()
        let payments = try await TestHTTPServer.start()
        inventory.behaviour = .respond(status: 200, body: "ok")
        payments.behaviour = .respond(status: 200, body: "ok")
        return try await AgentHarness.withAgent(
            yaml: configuration(inventory: inventory.address, payments: payments.address)
        ) { agent in
            try await withThrowingTaskGroup(of: Void.self) { group in
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
                return try await body(agent)
            }
        }
    }

    /// Runs an experiment through the Chaos service; returns the timeline as streamed and the report.
    static func run(
        _ yaml: String,
        on agent: AgentHarness,
        onEvent: @escaping @Sendable (Levee_V1_ExperimentEvent) -> Void = { _ in }
    ) async throws -> (timeline: [Levee_V1_TimelineEntry], report: Levee_V1_ExperimentReport) {
        try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .unixDomainSocket(path: agent.configuration.listen.adminSocket),
                transportSecurity: .plaintext
            )
        ) { connection in
            let chaos = Levee_V1_Chaos.Client(wrapping: connection)
            var request = Levee_V1_RunExperimentRequest()
            request.experimentYaml = yaml
            request.file = "test.yaml"
            return try await chaos.runExperiment(request) { response in
                var timeline: [Levee_V1_TimelineEntry] = []
                var report: Levee_V1_ExperimentReport?
                for try await event in response.messages {
                    onEvent(event)
                    switch event.event {
                    case .timeline(let entry): timeline.append(entry)
                    case .report(let final): report = final
                    default: break
                    }
                }
                return (timeline, try #require(report))
            }
        }
    }

    static func faults(_ agent: AgentHarness) async throws -> [Levee_V1_Fault] {
        try await agent.admin.listFaults(Levee_V1_ListFaultsRequest()).faults
    }

    @Test("Payments fails, inventory stays within its steady state: held, and the fault is gone")
    func holds() async throws {
        try await Self.withLoadedAgent { agent in
            let (timeline, report) = try await Self.run(
                """
                name: payments-sick
                hypothesis: Inventory stays within its steady state while Payments fails
                steady_state:
                  - upstream: inventory
                    p99_below: 1s
                    errors_below: 1%
                    min_calls: 20
                  - service_level: [FULL, DEGRADED]
                method:
                  - fault: { upstream: payments, abort: 500 }
                    for: 2s
                abort_when: { violated_for: 2s }
                recover_within: 15s
                """,
                on: agent
            )
            #expect(report.verdict == "held", "\(report.reason)")
            #expect(timeline.map(\.kind).contains("fault_on"))
            #expect(timeline.map(\.kind).contains("fault_off"))
            #expect(report.windows.count == 1)
            #expect(report.checks.count == 2)
            #expect(report.checks.allSatisfy { $0.before.measured && $0.during.measured && $0.after.measured })
            #expect(report.checks[0].before.calls >= 20)
            #expect(!report.samples.isEmpty)
            #expect(try await Self.faults(agent).isEmpty)
        }
    }

    @Test("The faulted upstream's own errors break its steady state: deviated, then recovered, faults gone")
    func deviates() async throws {
        try await Self.withLoadedAgent { agent in
            let (_, report) = try await Self.run(
                """
                name: payments-errors
                steady_state:
                  - upstream: payments
                    errors_below: 5%
                    min_calls: 20
                method:
                  - fault: { upstream: payments, abort: 503, percent: 50 }
                    for: 3s
                recover_within: 30s
                """,
                on: agent
            )
            #expect(report.verdict == "deviated", "\(report.reason)")
            #expect(report.checks[0].during.errorPercent >= 5)
            #expect(report.checks[0].after.held)
            #expect(try await Self.faults(agent).isEmpty)
        }
    }

    @Test("Violated without a break for violated_for: aborted within violated_for + 1 s, every fault gone")
    func aborts() async throws {
        try await Self.withLoadedAgent { agent in
            let (timeline, report) = try await Self.run(
                """
                name: payments-down
                steady_state:
                  - upstream: payments
                    errors_below: 5%
                    min_calls: 20
                method:
                  - fault: { upstream: payments, abort: 500 }
                    for: 60s
                abort_when: { violated_for: 1s }
                """,
                on: agent
            )
            #expect(report.verdict == "aborted", "\(report.reason)")
            // The abort comes violated_for after the violation that lasted (the last one to start).
            let violated = try #require(timeline.last { $0.kind == "violation" })
            let off = try #require(timeline.first { $0.kind == "fault_off" })
            #expect(off.atMs >= violated.atMs + 1_000)
            #expect(off.atMs <= violated.atMs + 2_000, "fault off \(off.atMs - violated.atMs) ms after the violation")
            #expect(try await Self.faults(agent).isEmpty)
        }
    }

    @Test("A steady state that does not hold before: not_steady, and nothing injected")
    func notSteady() async throws {
        try await Self.withLoadedAgent { agent in
            let (timeline, report) = try await Self.run(
                """
                name: too-strict
                steady_state:
                  - upstream: inventory
                    min_calls: 1000000
                method:
                  - fault: { upstream: payments, abort: 500 }
                    for: 60s
                """,
                on: agent
            )
            #expect(report.verdict == "not_steady")
            #expect(report.reason.contains("too few calls"))
            #expect(!timeline.contains { $0.kind == "fault_on" })
            #expect(report.windows.isEmpty)
            #expect(try await agent.admin.listFaults(Levee_V1_ListFaultsRequest()).faults.isEmpty)
        }
    }

    @Test("The client going away (Ctrl-C) stops the experiment and clears its faults")
    func cancelClears() async throws {
        try await Self.withLoadedAgent { agent in
            let sawFault = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try? await Self.run(
                        """
                        name: long
                        steady_state:
                          - upstream: inventory
                            min_calls: 1
                        method:
                          - fault: { upstream: payments, abort: 500 }
                            for: 60s
                        """,
                        on: agent
                    ) { event in
                        if case .timeline(let entry) = event.event, entry.kind == "fault_on" {
                            sawFault.continuation.yield()
                        }
                    }
                }
                var iterator = sawFault.stream.makeAsyncIterator()
                _ = await iterator.next()
                #expect(try await Self.faults(agent).count == 1)
                #expect(try await Self.faults(agent).first?.source == "experiment long")
                group.cancelAll()
                try await eventually("the experiment's fault is gone", timeout: .seconds(5)) {
                    try await Self.faults(agent).isEmpty
                }
            }
        }
    }

    @Test("A second experiment while one runs gets FAILED_PRECONDITION")
    func oneAtATime() async throws {
        try await Self.withLoadedAgent { agent in
            let started = AsyncStream.makeStream(of: Void.self)
            await withTaskGroup(of: Void.self) { group in
                let yaml = """
                    name: long
                    steady_state:
                      - upstream: inventory
                        min_calls: 1
                    method:
                      - fault: { upstream: payments, delay: 1ms }
                        for: 60s
                    """
                group.addTask {
                    _ = try? await Self.run(yaml, on: agent) { event in
                        if case .timeline = event.event { started.continuation.yield() }
                    }
                }
                var iterator = started.stream.makeAsyncIterator()
                _ = await iterator.next()
                await #expect {
                    _ = try await Self.run(yaml, on: agent)
                } throws: { error in
                    (error as? RPCError)?.code == .failedPrecondition
                }
                group.cancelAll()
            }
            try await eventually("the first experiment's fault is gone", timeout: .seconds(5)) {
                try await Self.faults(agent).isEmpty
            }
        }
    }
}
