import Foundation
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// Stale fallback, outlier ejection across endpoints, and priorities at a full bulkhead.
@Suite(.timeLimit(.minutes(2)))
struct EndpointAndFallbackTests {
    @Test("The last good answer for the same key is served stale, in preference to the static one")
    func staleBeforeStatic() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: #"{"items":[1,2,3]}"#)
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  catalog:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    fallback:
                      stale: { max_age: 30s }
                      static: { status: 200, body: '{"items":[]}' }
                """
        ) { agent in
            let fresh = try await agent.call("catalog", "GET", "/items")
            #expect(fresh.outcome == .ok && fresh.fallback == .none)

            server.behaviour = .respond(status: 503, body: "down")
            let stale = try await agent.call("catalog", "GET", "/items")
            #expect(stale.outcome == .upstreamFailure)
            #expect(stale.fallback == .stale)
            #expect(String(decoding: stale.http.body, as: UTF8.self) == #"{"items":[1,2,3]}"#)

            // Another key has nothing cached: the static answer.
            let other = try await agent.call("catalog", "GET", "/other")
            #expect(other.fallback == .static)
            #expect(String(decoding: other.http.body, as: UTF8.self) == #"{"items":[]}"#)

            // A POST is never cached or served stale without an explicit cache key.
            let post = try await agent.call("catalog", "POST", "/items")
            #expect(post.fallback == .static)
            let info = try await agent.upstream("catalog")
            #expect(info.counters.fallbacksStale == 1)
            #expect(info.counters.fallbacksStatic == 2)
        }
        try await server.stop()
    }

    @Test("An endpoint failing consecutively is ejected; calls go to the healthy one; it comes back later")
    func outlierEjection() async throws {
        let good = try await TestHTTPServer.start()
        good.behaviour = .respond(status: 200, body: "good")
        let bad = try await TestHTTPServer.start()
        bad.behaviour = .respond(status: 500, body: "bad")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  shards:
                    endpoints: ["\(good.address)", "\(bad.address)"]
                    load_balancing: { policy: round_robin }
                    retry: { max_attempts: 1 }
                    breaker: { min_calls: 1000, window: { kind: count, size: 1000 } }
                    outlier_detection: { consecutive_failures: 3, base_ejection_time: 3s, max_ejection_percent: 50 }
                """
        ) { agent in
            try await eventually("the failing endpoint is ejected") {
                _ = try await agent.call("shards", "GET", "/")
                return try await agent.upstream("shards").endpoints.first { $0.address == bad.address }?.ejected == true
            }
            let before = bad.requestCount
            for _ in 0..<4 {
                let response = try await agent.call("shards", "GET", "/")
                #expect(response.outcome == .ok)
                #expect(response.endpoint == good.address)
            }
            #expect(bad.requestCount == before)
            let info = try await agent.upstream("shards")
            #expect(info.endpoints.filter(\.ejected).count == 1)

            // Its ejection time passes: it is tried again (and recovers here).
            bad.behaviour = .respond(status: 200, body: "recovered")
            try await eventually("the ejected endpoint is called again") {
                try await agent.call("shards", "GET", "/").endpoint == bad.address
            }
        }
        try await good.stop()
        try await bad.stop()
    }

    @Test("At a full bulkhead a sheddable call is rejected at once; a critical one takes a reserved slot")
    func priorities() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .stall(.seconds(10), then: .respond(status: 200, body: "late"))
        server.setBehaviour(.respond(status: 200, body: "quick"), forPath: "/quick")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  payments:
                    endpoints: ["\(server.address)"]
                    timeouts: { connect: 500ms, attempt: 5s, total: 6s }
                    retry: { max_attempts: 1 }
                    bulkhead: { max_concurrent: 2, max_queue: 4, queue_timeout: 1s, reserved_critical: 1 }
                """
        ) { agent in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await agent.call("payments", "GET", "/slow") }
                try await eventually("the normal slot is taken") {
                    try await agent.upstream("payments").inFlight == 1
                }
                let shed = try await agent.call("payments", "GET", "/quick", priority: .sheddable)
                #expect(shed.outcome == .bulkheadFull)
                #expect(shed.attempts == 0)
                // The reserved slot is for CRITICAL calls only.
                let critical = try await agent.call("payments", "GET", "/quick", priority: .critical)
                #expect(critical.outcome == .ok)
                #expect(String(decoding: critical.http.body, as: UTF8.self) == "quick")
                group.cancelAll()
            }
        }
        try await server.stop()
    }
}
