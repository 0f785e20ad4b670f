import Foundation
import GRPCCore
import LeveeAPI
import LeveeAgent
import LeveeTestKit
import Testing

/// The service level: `degradation` rules over the upstreams' breakers, told to the app (Watch), the
/// operator (Status) and the peers (the gossip `health` tag).
@Suite(.timeLimit(.minutes(2)))
struct DegradationTests {
    /// A shop: recommendations (its breaker opens after 3 failures) degrades it; payments and
    /// inventory (at `essentials`) both down make it minimal.
    static func shop(recommendations: String, essentials: String) -> String {
        """
        service: shop
        upstreams:
          recommendations:
            endpoints: ["\(recommendations)"]
            retry: { max_attempts: 1 }
            breaker: { min_calls: 3, failure_rate: 50, open_for: 1m }
          payments: { endpoints: ["\(essentials)"] }
          inventory: { endpoints: ["\(essentials)"] }
        degradation:
          degraded:
            - open: [recommendations]
          minimal:
            - open: [payments, inventory]
        """
    }

    @Test(
        "recommendations open → DEGRADED; payments and inventory open → MINIMAL; each change reaches Watch, Status and the health tag"
    )
    func levelFollowsTheRules() async throws {
        let recommendations = try await TestHTTPServer.start()
        recommendations.behaviour = .respond(status: 500, body: "down")
        let healthy = try await TestHTTPServer.start()
        healthy.behaviour = .respond(status: 200, body: "ok")
        let yaml = Self.shop(recommendations: recommendations.address, essentials: healthy.address)
        try await AgentHarness.withAgent(
            yaml: yaml + """

                gossip:
                  name: shop-1
                  bind: 127.0.0.1:0
                """
        ) { agent in
            try await agent.guardClient.watch(Levee_V1_WatchRequest()) { response in
                var events = response.messages.makeAsyncIterator()
                let first = try #require(try await events.next())
                #expect(first.snapshot)
                #expect(first.level.level == .full)
                #expect(first.level.reasons.isEmpty)
                #expect(try await agent.admin.status(Levee_V1_StatusRequest()).level.level == .full)
                try await eventually("the health tag says passing") { try await ownHealthTag(agent) == "passing" }

                // Real failures open recommendations' breaker: the service degrades.
                for _ in 0..<3 {
                    #expect(try await agent.call("recommendations").outcome == .upstreamFailure)
                }
                #expect(try await agent.breaker("recommendations") == .open)
                let degraded = try await nextLevel(&events)
                #expect(degraded.level == .degraded)
                #expect(degraded.reasons == ["degraded: recommendations breaker open"])
                let status = try await agent.admin.status(Levee_V1_StatusRequest())
                #expect(status.level.level == .degraded)
                #expect(status.level.reasons == ["degraded: recommendations breaker open"])
                try await eventually("the health tag says degraded") { try await ownHealthTag(agent) == "degraded" }

                // One of the two essentials down is not enough for MINIMAL; both are.
                try await agent.setBreaker("payments", .open)
                try await agent.setBreaker("inventory", .open)
                let minimal = try await nextLevel(&events)
                #expect(minimal.level == .minimal)
                #expect(minimal.reasons == ["minimal: payments and inventory breakers open"])
                try await eventually("the health tag says critical") { try await ownHealthTag(agent) == "critical" }
                let address = try #require(agent.agent.httpAddress)
                #expect(try await PrometheusText.scrape(address).1.value("levee_service_level") == 3)

                // Recovery walks back up.
                try await agent.setBreaker("inventory", .reset)
                #expect(try await nextLevel(&events).level == .degraded)
                try await agent.setBreaker("payments", .reset)
                try await agent.setBreaker("recommendations", .reset)
                let full = try await nextLevel(&events)
                #expect(full.level == .full)
                #expect(full.reasons.isEmpty)
                try await eventually("the health tag says passing again") {
                    try await ownHealthTag(agent) == "passing"
                }
            }
        }
        try await recommendations.stop()
        try await healthy.stop()
    }

    @Test("Without degradation rules, one upstream down degrades the service and all of them down is MINIMAL")
    func implicitRules() async throws {
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  alpha: { endpoints: ["127.0.0.1:1"] }
                  beta: { endpoints: ["127.0.0.1:2"] }
                """
        ) { agent in
            try await agent.setBreaker("alpha", .open)
            var level = try await agent.admin.status(Levee_V1_StatusRequest()).level
            #expect(level.level == .degraded)
            #expect(level.reasons == ["degraded: alpha breaker open"])
            try await agent.setBreaker("beta", .open)
            level = try await agent.admin.status(Levee_V1_StatusRequest()).level
            #expect(level.level == .minimal)
            #expect(level.reasons == ["minimal: alpha and beta breakers open"])
        }
    }

    /// The level of the next Watch event that carries one (events about upstreams alone are skipped).
    private func nextLevel(
        _ events: inout RPCAsyncSequence<Levee_V1_WatchEvent, any Error>.AsyncIterator
    ) async throws -> Levee_V1_ServiceLevelState {
        while let event = try await events.next() {
            if event.hasLevel { return event.level }
        }
        throw AgentHarness.Failure(description: "Watch ended before the level changed")
    }

    /// This agent's own `health` tag, as its gossip member says it.
    private func ownHealthTag(_ agent: AgentHarness) async throws -> String? {
        let members = try await agent.admin.members(Levee_V1_MembersRequest())
        return members.members.first { $0.name == members.localName }?.tags["health"]
    }
}
