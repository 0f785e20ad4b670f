import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Synchronization
import Testing

/// Reloads while calls flow: none of them may fail because of a reload (DESIGN.md, `levee reload`).
@Suite(.timeLimit(.minutes(3)))
struct ReloadUnderLoadTests {
    /// How each caller's calls ended: outcome names, or the RPC error for a call the agent did not answer.
    final class Tally: Sendable {
        private let counts = Mutex<[String: [String: Int]]>([:])
        /// Set when the reloads are done: the callers stop.
        let stopped = Atomic<Bool>(false)

        func record(_ upstream: String, _ result: String) {
            counts.withLock { $0[upstream, default: [:]][result, default: 0] += 1 }
        }

        subscript(upstream: String) -> [String: Int] { counts.withLock { $0[upstream] ?? [:] } }
    }

    /// The configuration of reload number `generation`: `stable` and `held` never change; `flex`'s
    /// policy alternates; `extra` exists in odd generations only.
    static func yaml(generation: Int, stable: String, flex: String, extra: String) -> String {
        let flexPolicy =
            generation.isMultiple(of: 2)
            ? "bulkhead: { max_concurrent: 32 }, breaker: { min_calls: 20 }"
            : "bulkhead: { max_concurrent: 48 }, breaker: { min_calls: 30 }"
        return """
            upstreams:
              stable: { endpoints: ["\(stable)"], breaker: { window: { kind: count, size: 100000 }, min_calls: 1000 } }
              held: { endpoints: ["\(stable)"] }
              flex: { endpoints: ["\(flex)"], \(flexPolicy) }
            \(generation % 2 == 1 ? "  extra: { endpoints: [\"\(extra)\"] }" : "")
            """
    }

    @Test(
        "Calls flow through six reloads: no call fails because of one, unchanged upstreams keep their state, removed ones drain"
    )
    func callsFlowThroughReloads() async throws {
        let stable = try await TestHTTPServer.start()
        let flex = try await TestHTTPServer.start()
        let extra = try await TestHTTPServer.start()
        extra.setBehaviour(.stall(.milliseconds(300), then: .respond(status: 200, body: "slow")), forPath: "/slow")
        func document(_ generation: Int) -> String {
            Self.yaml(
                generation: generation,
                stable: stable.address,
                flex: flex.address,
                extra: extra.address
            )
        }

        try await AgentHarness.withAgent(yaml: document(0)) { agent in
            var force = Levee_V1_SetBreakerRequest()
            force.upstream = "held"
            force.action = .open
            _ = try await agent.admin.setBreaker(force)

            let tally = Tally()
            try await withThrowingTaskGroup(of: Void.self) { callers in
                for caller in 0..<4 {
                    callers.addTask {
                        // Bounded: at most 3000 calls each, whatever happens to the reloads.
                        for index in 0..<3000 where !tally.stopped.load(ordering: .relaxed) {
                            let upstream = (caller + index).isMultiple(of: 2) ? "stable" : "flex"
                            do {
                                let response = try await agent.call(upstream)
                                tally.record(upstream, "\(response.outcome)")
                            } catch let error as RPCError {
                                tally.record(upstream, "rpc \(error.code): \(error.message)")
                            }
                            // Paced (about 400 calls/s in all), so that the load does not starve the
                            // tests running beside this one.
                            try await Task.sleep(for: .milliseconds(10))
                        }
                    }
                }

                for generation in 1...6 {
                    let callsBefore = try await agent.upstream("stable").counters.calls
                    let reload = {
                        try agent.rewriteFile(document(generation))
                        return try await agent.admin.reload(Levee_V1_ReloadRequest())
                    }
                    let summary: Levee_V1_ReloadResponse
                    var slowCalls: [Levee_V1_CallResponse] = []
                    if generation.isMultiple(of: 2) {
                        // Three calls in flight on `extra` when the reload removes it.
                        let received = extra.requestCount
                        (summary, slowCalls) = try await withThrowingTaskGroup(of: Levee_V1_CallResponse.self) { slow in
                            for _ in 0..<3 { slow.addTask { try await agent.call("extra", "GET", "/slow") } }
                            try await eventually("the slow calls reach extra") { extra.requestCount >= received + 3 }
                            let summary = try await reload()
                            return (summary, try await slow.reduce(into: []) { $0.append($1) })
                        }
                    } else {
                        summary = try await reload()
                    }
                    #expect(summary.configGeneration == UInt64(generation))
                    #expect(summary.changed == ["flex"])
                    #expect(summary.unchanged.contains("stable") && summary.unchanged.contains("held"))
                    #expect(summary.added == (generation % 2 == 1 ? ["extra"] : []))
                    #expect(summary.removed == (generation.isMultiple(of: 2) ? ["extra"] : []))
                    #expect(try await agent.upstream("flex").maxConcurrent == (generation.isMultiple(of: 2) ? 32 : 48))

                    for response in slowCalls {
                        #expect(response.outcome == .ok, "a call in flight on a removed upstream: \(response.detail)")
                        #expect(String(decoding: response.http.body, as: UTF8.self) == "slow")
                    }
                    if generation.isMultiple(of: 2) {
                        await #expect(throws: RPCError.self) { _ = try await agent.call("extra") }
                    } else {
                        #expect(try await agent.call("extra").outcome == .ok)
                    }
                    // Calls flow on the kept runtime between reloads.
                    try await eventually("calls flow after reload \(generation)") {
                        try await agent.upstream("stable").counters.calls >= callsBefore + 20
                    }
                }
                tally.stopped.store(true, ordering: .relaxed)
                try await callers.waitForAll()
            }

            // Every call the callers made ended OK: none failed because of a reload.
            for upstream in ["stable", "flex"] {
                let outcomes = tally[upstream]
                #expect(outcomes.keys.sorted() == ["\(Levee_V1_Outcome.ok)"], "\(upstream): \(outcomes)")
            }
            // `stable` kept its runtime through six reloads: its counters and window hold every call.
            let stableInfo = try await agent.upstream("stable")
            #expect(stableInfo.counters.calls == UInt64(tally["stable"]["\(Levee_V1_Outcome.ok)"] ?? 0))
            #expect(stableInfo.breaker.windowCalls == UInt32(tally["stable"]["\(Levee_V1_Outcome.ok)"] ?? 0))
            // `held` kept its operator's override.
            #expect(try await agent.breaker("held") == .forcedOpen)
        }
        try await stable.stop()
        try await flex.stop()
        try await extra.stop()
    }
}
