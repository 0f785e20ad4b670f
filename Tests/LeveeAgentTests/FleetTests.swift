import Foundation
import GRPCCore
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeGossipNIO
import LeveeTestKit
import NIOCore
import Testing

/// Several agents in one gossip pool on 127.0.0.1 share what they learn about a sick upstream.
@Suite(.timeLimit(.minutes(2)))
struct FleetTests {
    static func configuration(name: String, share: String, join: String?, payments: String) -> String {
        """
        service: orders
        upstreams:
          payments:
            endpoints: ["\(payments)"]
            retry: { max_attempts: 1 }
            breaker: { window: { kind: count, size: 10 }, min_calls: 5, failure_rate: 50, open_for: 30s }
        gossip:
          name: \(name)
          bind: 127.0.0.1:0
          profile: lan
          share: \(share)
          quorum: 1
          service_address: 127.0.0.1:9\(name.count)00
        \(join.map { "  join: [\"\($0)\"]" } ?? "")
        """
    }

    @Test("With share: follow, agents that never called a sick upstream open their breakers on the first agent's word")
    func followOpensBreakersAcrossTheFleet() async throws {
        let payments = try await TestHTTPServer.start()
        payments.behaviour = .respond(status: 500, body: "sick")
        let yamlA = Self.configuration(name: "agent-a", share: "follow", join: nil, payments: payments.address)
        try await AgentHarness.withAgent(yaml: yamlA) { a in
            let seed = try #require(try await a.agent.gossip?.node.localAddress())
            let join = "127.0.0.1:\(seed.port ?? 0)"
            let yamlB = Self.configuration(name: "agent-b", share: "follow", join: join, payments: payments.address)
            let yamlC = Self.configuration(name: "agent-c", share: "advisory", join: join, payments: payments.address)
            try await AgentHarness.withAgent(yaml: yamlB) { b in
                try await AgentHarness.withAgent(yaml: yamlC) { c in
                    for agent in [a, b, c] {
                        try await eventually("every agent sees three members alive") {
                            let members = try await agent.admin.members(Levee_V1_MembersRequest()).members
                            return members.filter { $0.status == "alive" }.count == 3
                        }
                    }
                    let members = try await b.admin.members(Levee_V1_MembersRequest())
                    let memberA = try #require(members.members.first { $0.name == "agent-a" })
                    #expect(memberA.tags["svc"] == "orders")
                    #expect(memberA.tags["levee"] == "test")
                    #expect(memberA.tags["addr"] == "127.0.0.1:9700")

                    // Agent A pays the lesson: min_calls failures open its breaker.
                    for _ in 0..<5 { _ = try await a.call("payments", "GET", "/charge") }
                    #expect(try await a.breaker("payments") == .open)
                    let opened = ContinuousClock.now

                    // B (follow) opens its own breaker on A's report without calling Payments once.
                    try await eventually("agent B's breaker opens on the peers' word", timeout: .seconds(5)) {
                        try await b.breaker("payments") == .open
                    }
                    let propagation = ContinuousClock.now - opened
                    print("fleet: agent B opened \(propagation) after agent A")
                    let infoB = try await b.upstream("payments")
                    #expect(infoB.breaker.source == .peers)
                    #expect(infoB.peersReportingOpen == ["agent-a"])
                    let rejected = try await b.call("payments", "GET", "/charge")
                    #expect(rejected.outcome == .circuitOpen)
                    #expect(payments.requestCount == 5)

                    // C (advisory) keeps its own breaker closed but shows the peers' word.
                    try await eventually("agent C shows the peers' report", timeout: .seconds(5)) {
                        try await c.upstream("payments").peersReportingOpen.count >= 1
                    }
                    #expect(try await c.breaker("payments") == .closed)
                    try await c.guardClient.watch(Levee_V1_WatchRequest()) { response in
                        for try await event in response.messages {
                            let state = try #require(event.upstreams.first { $0.name == "payments" })
                            #expect(state.breaker == .open)
                            #expect(state.source == .peers)
                            break
                        }
                    }
                    // A's health tag turned critical (its only upstream is open).
                    try await eventually("agent A's health tag says critical") {
                        let members = try await c.admin.members(Levee_V1_MembersRequest()).members
                        return members.first { $0.name == "agent-a" }?.tags["health"] == "critical"
                    }
                }
            }
        }
        try await payments.stop()
    }

    @Test(
        "With share: follow, agents that each see a few failures in a row open on each other's suspicion, long before their windows would"
    )
    func suspicionCorroboratedOpensBreakersEarly() async throws {
        let payments = try await TestHTTPServer.start()
        // A window of 100 that holds 20 successes needs 20 failures to reach 50 %; the suspicion of
        // three in a row, corroborated by a peer's, opens it after three.
        func yaml(_ name: String, join: String?) -> String {
            """
            service: orders
            upstreams:
              payments:
                endpoints: ["\(payments.address)"]
                retry: { max_attempts: 1 }
                breaker: { window: { kind: count, size: 100 }, min_calls: 20, failure_rate: 50, open_for: 30s }
            gossip:
              name: \(name)
              bind: 127.0.0.1:0
              profile: lan
              share: follow
              quorum: 1
              suspect_after: 3
            \(join.map { "  join: [\"\($0)\"]" } ?? "")
            """
        }
        try await AgentHarness.withAgent(yaml: yaml("agent-a", join: nil)) { a in
            let seed = try #require(try await a.agent.gossip?.node.localAddress())
            try await AgentHarness.withAgent(yaml: yaml("agent-b", join: "127.0.0.1:\(seed.port ?? 0)")) { b in
                for agent in [a, b] {
                    try await eventually("both agents see two members alive") {
                        let members = try await agent.admin.members(Levee_V1_MembersRequest()).members
                        return members.filter { $0.status == "alive" }.count == 2
                    }
                    for _ in 0..<20 { _ = try await agent.call("payments", "GET", "/charge") }
                }
                payments.behaviour = .respond(status: 503, body: "sick")
                let healthy = payments.requestCount

                // A alone: three failures in a row make it suspect Payments, but no peer agrees yet.
                for _ in 0..<3 { _ = try await a.call("payments", "GET", "/charge") }
                #expect(try await a.breaker("payments") == .closed)

                // B sees the same: with A's suspicion, its third failure in a row opens its breaker (or,
                // if A's word is still on its way, its arrival does); B's suspicion opens A's.
                for _ in 0..<3 { _ = try await b.call("payments", "GET", "/charge") }
                for agent in [a, b] {
                    try await eventually("the breaker opens on the corroborated suspicion", timeout: .seconds(5)) {
                        try await agent.breaker("payments") == .open
                    }
                    #expect(try await agent.upstream("payments").breaker.source == .peers)
                }
                #expect(payments.requestCount - healthy == 6)
                #expect(try await a.call("payments", "GET", "/charge").outcome == .circuitOpen)
            }
        }
        try await payments.stop()
    }

    @Test("endpoints: { discover: SERVICE } follows the live members whose svc tag matches, at their addr tag")
    func discovery() async throws {
        let inventory = try await TestHTTPServer.start()
        inventory.behaviour = .respond(status: 200, body: "stock")
        let consumer = """
            service: orders
            upstreams:
              inventory:
                endpoints: { discover: inventory }
            gossip:
              name: orders-1
              bind: 127.0.0.1:0
            """
        try await AgentHarness.withAgent(yaml: consumer) { orders in
            let seed = try #require(try await orders.agent.gossip?.node.localAddress())
            #expect(try await orders.call("inventory", "GET", "/stock").outcome == .noHealthyEndpoint)
            let provider = """
                service: inventory
                upstreams: {}
                gossip:
                  name: inventory-1
                  bind: 127.0.0.1:0
                  join: ["127.0.0.1:\(seed.port ?? 0)"]
                  service_address: \(inventory.address)
                """
            try await AgentHarness.withAgent(yaml: provider) { _ in
                try await eventually("the inventory instance is discovered") {
                    try await orders.upstream("inventory").endpoints.map(\.address) == [inventory.address]
                }
                let response = try await orders.call("inventory", "GET", "/stock")
                #expect(response.outcome == .ok)
                #expect(response.endpoint == inventory.address)
            }
            // The provider's agent stopped without leaving: once the pool declares it failed, discovery
            // drops its endpoint.
            try await eventually("the stopped instance is dropped", timeout: .seconds(20)) {
                try await orders.upstream("inventory").endpoints.isEmpty
            }
        }
        try await inventory.stop()
    }
}
