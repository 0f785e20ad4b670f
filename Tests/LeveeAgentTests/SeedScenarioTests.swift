import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// The seed's scenario (DESIGN.md): Orders calls Payments and Inventory; Payments starts answering 500
/// and stalls; Orders must stay up. A real agent, real HTTP upstreams.
@Suite(.timeLimit(.minutes(2)))
struct SeedScenarioTests {
    static func configuration(payments: String, inventory: String) -> String {
        """
        service: orders
        upstreams:
          payments:
            endpoints: ["\(payments)"]
            timeouts: { connect: 500ms, attempt: 2s, total: 3s }
            retry: { max_attempts: 1 }
            breaker:
              window: { kind: count, size: 20 }
              min_calls: 10
              failure_rate: 50
              slow_call: { duration: 900ms, rate: 100 }
              open_for: 3s
              open_for_max: 6s
              half_open_calls: 1
            bulkhead: { max_concurrent: 4, max_queue: 0, queue_timeout: 0ms, reserved_critical: 0 }
            fallback:
              static: { status: 200, headers: { content-type: application/json }, body: '{"status":"pending"}' }
          inventory:
            endpoints: ["\(inventory)"]
            retry: { max_attempts: 1 }
        """
    }

    @Test("Payments fails: the breaker opens after min_calls, rejects at once with the fallback, probes and recovers")
    func breakerOpensRejectsProbesAndRecovers() async throws {
        let payments = try await TestHTTPServer.start()
        let inventory = try await TestHTTPServer.start()
        inventory.behaviour = .respond(status: 200, body: "stock")
        payments.behaviour = .respond(status: 500, body: "boom")

        try await AgentHarness.withAgent(
            yaml: Self.configuration(payments: payments.address, inventory: inventory.address)
        ) { agent in
            // min_calls − 1 failures: still closed.
            for _ in 0..<9 {
                let response = try await agent.call("payments", "GET", "/charge")
                #expect(response.outcome == .upstreamFailure)
                #expect(response.http.status == 200 && response.fallback == .static)
            }
            #expect(try await agent.breaker("payments") == .closed)
            // The tenth opens it.
            _ = try await agent.call("payments", "GET", "/charge")
            #expect(try await agent.breaker("payments") == .open)
            #expect(payments.requestCount == 10)

            // Open: rejected without reaching Payments, at once, with the fallback and a retry-after.
            let rejected = try await agent.call("payments", "GET", "/charge")
            #expect(rejected.outcome == .circuitOpen)
            #expect(rejected.fallback == .static)
            #expect(String(decoding: rejected.http.body, as: UTF8.self) == #"{"status":"pending"}"#)
            #expect(rejected.attempts == 0)
            #expect(rejected.retryAfterMs > 0 && rejected.retryAfterMs <= 3_000)
            // Decided by the agent alone: nothing sent (above), no wait for the 2 s attempt timeout.
            #expect(rejected.elapsedUs < 1_000_000)
            #expect(payments.requestCount == 10)

            // Inventory does not care.
            #expect(try await agent.call("inventory", "GET", "/stock").outcome == .ok)

            // Payments recovers; after open_for a single probe goes through and closes the breaker.
            payments.behaviour = .respond(status: 200, body: "charged")
            try await eventually("a probe is let through") {
                try await agent.call("payments", "GET", "/charge").outcome != .circuitOpen
            }
            #expect(try await agent.breaker("payments") == .closed)
            let recovered = try await agent.call("payments", "GET", "/charge")
            #expect(recovered.outcome == .ok && recovered.fallback == .none)
            #expect(String(decoding: recovered.http.body, as: UTF8.self) == "charged")
        }
    }

    @Test("Payments stalls: its bulkhead fills, further calls are rejected at once, Inventory is unaffected")
    func stalledUpstreamIsContained() async throws {
        let payments = try await TestHTTPServer.start()
        let inventory = try await TestHTTPServer.start()
        inventory.behaviour = .respond(status: 200, body: "stock")
        payments.behaviour = .stall(.seconds(10), then: .respond(status: 200, body: "late"))

        try await AgentHarness.withAgent(
            yaml: Self.configuration(payments: payments.address, inventory: inventory.address)
        ) { agent in
            try await withThrowingTaskGroup(of: Levee_V1_CallResponse.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await agent.call("payments", "GET", "/charge") }
                }
                try await eventually("Payments' four slots are taken") {
                    try await agent.upstream("payments").inFlight == 4
                }
                // Saturated: rejected at once, nothing sent; Inventory answers normally meanwhile.
                let rejected = try await agent.call("payments", "GET", "/charge")
                #expect(rejected.outcome == .bulkheadFull)
                #expect(rejected.fallback == .static)
                #expect(rejected.elapsedUs < 1_000_000, "no wait for a slot, which frees only after 2 s")
                for _ in 0..<20 {
                    let stock = try await agent.call("inventory", "GET", "/stock")
                    #expect(stock.outcome == .ok)
                    #expect(String(decoding: stock.http.body, as: UTF8.self) == "stock")
                }
                // The stalled calls end at the attempt timeout, not after the 10 s stall.
                for try await stalled in group {
                    #expect(stalled.outcome == .timeout)
                    #expect(stalled.fallback == .static)
                }
            }
            #expect(try await agent.upstream("payments").inFlight == 0)
        }
        try await payments.stop()
        try await inventory.stop()
    }
}
