import Foundation
import GRPCCore
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeGossipNIO
import LeveeTestKit
import NIOCore
import Testing

/// A Levee agent and a real `serf agent` (Debian's serf 0.9.4) in one pool: serf sees the agent and its
/// tags, hears its `levee-health` events, and can speak to it in the same words.
@Suite(.timeLimit(.minutes(2)))
struct AgentSerfInteropTests {
    @Test("serf lists the agent with its tags; a levee-health event from serf opens a following agent's breaker")
    func serfWatchesAndSpeaks() async throws {
        try await SerfAgent.with(name: "serf-watch") { serf in
            try await AgentHarness.withAgent(
                yaml: """
                    service: orders
                    upstreams:
                      payments: { endpoints: ["127.0.0.1:9"] }
                    gossip:
                      name: levee-orders
                      bind: 127.0.0.1:0
                      join: ["\(serf.bindAddress)"]
                      share: follow
                      service_address: 127.0.0.1:8080
                    """
            ) { agent in
                let member = try await serf.waitForMember("levee-orders") { $0.status == "alive" }
                #expect(member.tags["svc"] == "orders")
                #expect(member.tags["addr"] == "127.0.0.1:8080")
                #expect(member.tags["health"] == "passing")
                #expect(member.tags["levee"] == "test")
                try await eventually("the agent lists serf alive") {
                    let members = try await agent.admin.members(Levee_V1_MembersRequest()).members
                    return members.contains { $0.name == "serf-watch" && $0.status == "alive" }
                }

                // Any Serf client can report a sick upstream in the same words.
                try await serf.sendEvent(HealthReport.eventName, payload: "v1 breaker serf-watch payments open")
                try await eventually("the agent opens its breaker on serf's report") {
                    try await agent.breaker("payments") == .open
                }
                #expect(try await agent.upstream("payments").breaker.source == .peers)

                // The agent's own reports reach serf: resetting the breaker closes it, which it tells
                // the pool.
                var reset = Levee_V1_SetBreakerRequest()
                reset.upstream = "payments"
                reset.action = .reset
                _ = try await agent.admin.setBreaker(reset)
                try await eventually("serf's log shows the agent's levee-health event") {
                    serf.log().contains("levee-health")
                }
            }
        }
    }
}
