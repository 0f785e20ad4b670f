import Foundation
import LeveeAPI
import LeveeAgent
import LeveeTestKit
import Testing

/// `bulkhead.adaptive` end to end: a real agent, a real upstream that turns slow and fast again on
/// command, real calls from several callers at once, and the limit as the admin API shows it.
@Suite(.timeLimit(.minutes(2)))
struct AdaptiveConcurrencyTests {
    /// Runs `body` while `callers` loops call `payments` through the Guard API without pause.
    private static func underLoad<R: Sendable>(
        _ agent: AgentHarness,
        callers: Int,
        _ body: () async throws -> R
    ) async throws -> R {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    while !Task.isCancelled { _ = try? await agent.call("payments") }
                }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    private static func limit(_ agent: AgentHarness) async throws -> Int {
        let info = try await agent.upstream("payments")
        #expect(info.hasAdaptive)
        #expect(info.maxConcurrent == info.adaptive.limit)
        return Int(info.adaptive.limit)
    }

    @Test(
        "The adaptive limit falls under a slow upstream and rises again when it is fast",
        arguments: ["aimd", "gradient2"]
    )
    func limitFallsWhenSlowAndRisesWhenFast(algorithm: String) async throws {
        // "Fast" is a fixed 50 ms, not an instant answer: with an instant answer and 40 callers, the
        // agent's own CPU would be the bottleneck on a loaded machine, and its queueing would read as an
        // upstream whose latency grows with the calls in flight, which an adaptive limit rightly holds
        // down. At 50 ms and at most 32 slots the agent serves at most 640 calls a second.
        let fast = TestHTTPBehaviour.stall(.milliseconds(50), then: .respond(status: 200, body: "ok"))
        let slow = TestHTTPBehaviour.stall(.milliseconds(300), then: .respond(status: 200, body: "ok"))
        let server = try await TestHTTPServer.start()
        server.behaviour = fast
        // AIMD counts an attempt slower than 250 ms as a drop (the fast calls stay under it on a loaded
        // machine, the slow upstream's 300 ms do not); Gradient2 compares each window's RTT with the
        // long-term average it learnt while the upstream was fast.
        let yaml = """
            upstreams:
              payments:
                endpoints: ["\(server.address)"]
                retry: { max_attempts: 1 }
                timeouts: { attempt: 2s, total: 5s }
                bulkhead:
                  max_queue: 64
                  queue_timeout: 2s
                  adaptive: { algorithm: \(algorithm), min: 2, max: 32, initial: 8, timeout: 250ms }
            """
        try await AgentHarness.withAgent(yaml: yaml) { agent in
            #expect(try await Self.limit(agent) == 8)
            // More callers than slots, so that at least half the slots stay busy (Gradient2 holds its
            // limit while fewer are: the app, not the upstream, is the limit then).
            try await Self.underLoad(agent, callers: 40) {
                // Fast: the limit grows while the callers keep at least half the slots busy.
                try await eventually("the limit grows while the upstream is fast", timeout: .seconds(30)) {
                    try await Self.limit(agent) >= 20
                }

                server.behaviour = slow
                try await eventually("the limit falls under the slow upstream", timeout: .seconds(30)) {
                    try await Self.limit(agent) <= 12
                }
                let slowed = try await agent.upstream("payments").adaptive
                #expect(slowed.rttShortUs > 0 && slowed.rttLongUs > 0)

                server.behaviour = fast
                try await eventually("the limit rises again once the upstream is fast", timeout: .seconds(30)) {
                    try await Self.limit(agent) >= 20
                }
            }
            let address = try #require(agent.agent.httpAddress)
            let metrics = try await PrometheusText.scrape(address).1
            // Calls the callers gave up on may still finish and move the limit: within its bounds.
            let gauge = try #require(metrics.value("levee_bulkhead_limit", ["upstream": "payments"]))
            #expect(gauge >= 2 && gauge <= 32)
            #expect((metrics.value("levee_bulkhead_limit_changes_total", ["upstream": "payments"]) ?? 0) >= 3)
            // Gradient2 probes once its first 10 windows are in (the callers keep the limit binding);
            // AIMD never does.
            let probes = try #require(metrics.value("levee_bulkhead_limit_probes_total", ["upstream": "payments"]))
            #expect(algorithm == "gradient2" ? probes >= 1 : probes == 0)
            #expect((metrics.value("levee_bulkhead_rtt_long_seconds", ["upstream": "payments"]) ?? 0) > 0)
        }
        try await server.stop()
    }
}
