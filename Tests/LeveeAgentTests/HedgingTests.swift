import Foundation
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeTestKit
import Testing

/// Hedged requests end to end: a real agent, real upstream servers on loopback that stall on command.
@Suite(.timeLimit(.minutes(2)))
struct HedgingTests {
    @Test("A hedge to the other endpoint wins against a stalled endpoint")
    func hedgeWinsAgainstAStalledEndpoint() async throws {
        let stalled = try await TestHTTPServer.start()
        stalled.behaviour = .stall(.seconds(20), then: .respond(status: 200, body: "slow"))
        let fast = try await TestHTTPServer.start()
        fast.behaviour = .respond(status: 200, body: "fast")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  catalog:
                    endpoints: ["\(stalled.address)", "\(fast.address)"]
                    load_balancing: { policy: round_robin }
                    timeouts: { connect: 1s, attempt: 30s, total: 30s }
                    hedge: { delay: 50ms, max: 1 }
                    outlier_detection: { consecutive_failures: 100 }
                """
        ) { agent in
            var hedged = 0
            var wonByHedge = 0
            for _ in 0..<4 {
                let response = try await agent.call("catalog", "GET", "/items/7")
                #expect(response.outcome == .ok, "\(response.detail)")
                #expect(String(decoding: response.http.body, as: UTF8.self) == "fast")
                #expect(response.endpoint == fast.address)
                if response.hedges == 1 {
                    hedged += 1
                    #expect(response.attempts == 2)
                }
                if response.winningAttempt == 2 {
                    wonByHedge += 1
                    #expect(response.hedges == 1)
                } else {
                    #expect(response.winningAttempt == 1)
                }
            }
            // Round robin sends the first attempt of every other call to the stalled endpoint, and its
            // hedge wins. (On a loaded machine a call whose first attempt went to the fast endpoint may
            // hedge too, to the stalled one, and lose; that hedge may be cancelled before it arrives.)
            #expect(wonByHedge >= 1)
            #expect(stalled.requestCount >= wonByHedge)
            #expect(stalled.requestCount <= hedged)
        }
        try await stalled.stop()
        try await fast.stop()
    }

    @Test("A POST without an idempotency key is never hedged")
    func nonIdempotentIsNeverHedged() async throws {
        let stalled = try await TestHTTPServer.start()
        stalled.behaviour = .stall(.seconds(20), then: .respond(status: 200))
        let fast = try await TestHTTPServer.start()
        fast.behaviour = .respond(status: 201)
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders:
                    endpoints: ["\(stalled.address)", "\(fast.address)"]
                    load_balancing: { policy: round_robin }
                    hedge: { delay: 10ms, max: 2 }
                """
        ) { agent in
            var timedOut = 0
            var created = 0
            for _ in 0..<4 {
                let response = try await agent.call("orders", "POST", "/orders", body: "{}", timeoutMs: 300)
                #expect(response.hedges == 0)
                #expect(response.attempts == 1)
                if response.outcome == .timeout { timedOut += 1 }
                if response.outcome == .ok { created += 1 }
            }
            #expect(timedOut >= 1)
            // One request per call at most, and one for each answer. (A timed-out request may be cut off
            // before the server has read it all, so fewer may be counted on a loaded machine; and on one,
            // a call to the fast endpoint may time out too.)
            #expect(stalled.requestCount + fast.requestCount <= 4)
            #expect(fast.requestCount >= created)
        }
        try await stalled.stop()
        try await fast.stop()
    }

    @Test("Hedges are charged to the retry budget: once it is spent, no more hedges go out")
    func budgetStopsHedges() async throws {
        let first = try await TestHTTPServer.start()
        let second = try await TestHTTPServer.start()
        for server in [first, second] { server.behaviour = .stall(.milliseconds(200), then: .respond(status: 200)) }
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  search:
                    endpoints: ["\(first.address)", "\(second.address)"]
                    hedge: { delay: 20ms, max: 1 }
                    retry: { budget: { ratio: 0.5, min_per_second: 0, ttl: 60s } }
                """
        ) { agent in
            // Each call deposits half a hedge and there is no floor, so every second call can hedge: 4
            // of 8. (A deposit counts for at least 54 s, the 8 calls of 200 ms take about 2.)
            var hedges = 0
            for _ in 0..<8 {
                let response = try await agent.call("search", "GET", "/q")
                #expect(response.outcome == .ok, "\(response.detail)")
                hedges += Int(response.hedges)
            }
            #expect(hedges == 4)
            #expect(first.requestCount + second.requestCount == 8 + 4)
            // Each hedge sent ends as won, lost or failed; the four refused are counted by why.
            let (_, metrics) = try await PrometheusText.scrape(try #require(agent.agent.httpAddress))
            func hedgeCount(_ result: String) -> Double? {
                metrics.value("levee_hedges_total", ["upstream": "search", "result": result])
            }
            let settled = ["won", "lost", "failed"].compactMap(hedgeCount).reduce(0, +)
            #expect(settled == 4)
            #expect(hedgeCount("budget_exhausted") == 4)
            #expect(hedgeCount("breaker_not_closed") == 0)
        }
        try await first.stop()
        try await second.stop()
    }
}
