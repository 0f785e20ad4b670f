import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeGossipNIO
import LeveeTestKit
import NIOCore
import Testing

/// `levee chaos run --fleet`: three agents in one gossip pool on loopback, each with its own upstream
/// servers and load loop; the experiment is asked of one and runs on all through Serf queries.
@Suite(.timeLimit(.minutes(2)))
struct ChaosFleetTests {
    static func configuration(name: String, join: String?, inventory: String, payments: String) -> String {
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
        gossip:
          name: \(name)
          bind: 127.0.0.1:0
          profile: lan
        \(join.map { "  join: [\"\($0)\"]" } ?? "")
        """
    }

    struct Member: Sendable {
        var agent: AgentHarness
        var inventory: TestHTTPServer
    }

    /// Three agents in one pool, each calling its own two healthy servers in a loop.
    static func withFleet(_ body: @Sendable ([Member]) async throws -> Void) async throws {
        var servers: [(TestHTTPServer, TestHTTPServer)] = []
        for _ in 0..<3 {
            let inventory = try await TestHTTPServer.start()
            let payments = try await TestHTTPServer.start()
            inventory.behaviour = .respond(status: 200, body: "ok")
            payments.behaviour = .respond(status: 200, body: "ok")
            servers.append((inventory, payments))
        }
        let yamlA = configuration(
            name: "agent-a",
            join: nil,
            inventory: servers[0].0.address,
            payments: servers[0].1.address
        )
        try await AgentHarness.withAgent(yaml: yamlA) { a in
            let seed = try #require(try await a.agent.gossip?.node.localAddress())
            let join = "127.0.0.1:\(seed.port ?? 0)"
            let yamlB = configuration(
                name: "agent-b",
                join: join,
                inventory: servers[1].0.address,
                payments: servers[1].1.address
            )
            let yamlC = configuration(
                name: "agent-c",
                join: join,
                inventory: servers[2].0.address,
                payments: servers[2].1.address
            )
            try await AgentHarness.withAgent(yaml: yamlB) { b in
                try await AgentHarness.withAgent(yaml: yamlC) { c in
                    let agents = [a, b, c]
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for agent in agents {
                            for upstream in ["inventory", "payments"] {
                                group.addTask {
                                    while !Task.isCancelled {
                                        _ = try? await agent.call(upstream, "GET", "/", timeoutMs: 2_000)
                                        try? await Task.sleep(for: .milliseconds(10))
                                    }
                                }
                            }
                        }
                        defer { group.cancelAll() }
                        for agent in agents {
                            try await eventually(
                                "every agent sees three members alive and has traffic",
                                timeout: .seconds(30)
                            ) {
                                let members = try await agent.admin.members(Levee_V1_MembersRequest()).members
                                let calls = try await agent.upstream("inventory").recentCalls
                                return members.filter { $0.status == "alive" }.count == 3 && calls >= 20
                            }
                        }
                        try await body(zip(agents, servers).map { Member(agent: $0, inventory: $1.0) })
                    }
                }
            }
        }
    }

    static func runFleet(
        _ yaml: String,
        on agent: AgentHarness,
        onEvent: @escaping @Sendable (Levee_V1_ExperimentEvent) -> Void = { _ in }
    ) async throws -> ([Levee_V1_TimelineEntry], Levee_V1_ExperimentReport) {
        try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .unixDomainSocket(path: agent.configuration.listen.adminSocket),
                transportSecurity: .plaintext
            )
        ) { connection in
            var request = Levee_V1_RunExperimentRequest()
            request.experimentYaml = yaml
            request.file = "fleet.yaml"
            request.fleet.enabled = true
            return try await Levee_V1_Chaos.Client(wrapping: connection).runExperiment(request) { response in
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

    @Test("An experiment over three agents: each answers its verdict and numbers, held on all, faults gone")
    func heldOnThreeAgents() async throws {
        try await Self.withFleet { members in
            let (timeline, report) = try await Self.runFleet(
                """
                name: payments-sick
                hypothesis: Inventory stays within its steady state while Payments fails
                steady_state:
                  - upstream: inventory
                    errors_below: 1%
                    min_calls: 20
                method:
                  - fault: { upstream: payments, abort: 500 }
                    for: 2s
                recover_within: 15s
                """,
                on: members[0].agent
            )
            #expect(report.verdict == "held", "\(report.reason)")
            #expect(report.agents.map(\.agent).sorted() == ["agent-a", "agent-b", "agent-c"])
            for agent in report.agents {
                #expect(agent.verdict == "held", "\(agent.agent): \(agent.reason)")
                #expect(agent.checks.first?.before.calls ?? 0 >= 20)
                #expect(agent.checks.first?.during.measured == true)
            }
            #expect(Set(timeline.filter { $0.kind == "start" }.map(\.agent)) == ["agent-a", "agent-b", "agent-c"])
            for member in members {
                #expect(try await member.agent.admin.listFaults(Levee_V1_ListFaultsRequest()).faults.isEmpty)
            }
        }
    }

    @Test("An abort on one agent stops the experiment on all of them")
    func abortOnOneStopsAll() async throws {
        try await Self.withFleet { members in
            let sick = members[2]
            let (timeline, report) = try await Self.runFleet(
                """
                name: inventory-guard
                steady_state:
                  - upstream: inventory
                    errors_below: 5%
                    min_calls: 20
                method:
                  - fault: { upstream: payments, delay: 1ms }
                    for: 60s
                abort_when: { violated_for: 1s }
                """,
                on: members[0].agent
            ) { event in
                // Once agent C's fault is on, its inventory turns sick: C aborts, and so must A and B.
                if case .timeline(let entry) = event.event, entry.agent == "agent-c", entry.kind == "phase",
                    entry.text.contains("method")
                {
                    sick.inventory.behaviour = .respond(status: 500, body: "sick")
                }
            }
            #expect(report.verdict == "aborted", "\(report.reason)")
            let byAgent = Dictionary(uniqueKeysWithValues: report.agents.map { ($0.agent, $0) })
            #expect(byAgent["agent-c"]?.verdict == "aborted")
            #expect(byAgent["agent-a"]?.verdict == "aborted")
            #expect(byAgent["agent-b"]?.verdict == "aborted")
            #expect(byAgent["agent-a"]?.reason.contains("agent-c") == true, "\(byAgent["agent-a"]?.reason ?? "")")
            #expect(timeline.contains { $0.kind == "abort" && $0.text.contains("agent-c") })
            for member in members {
                try await eventually("every agent's faults are gone", timeout: .seconds(5)) {
                    try await member.agent.admin.listFaults(Levee_V1_ListFaultsRequest()).faults.isEmpty
                }
            }
        }
    }
}
