import Foundation
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeTestKit
import NIOCore
import NIOPosix
import Testing

/// The HTTP listener of a real agent, scraped over HTTP after real calls to real servers.
@Suite(.timeLimit(.minutes(2)))
struct MetricsEndpointTests {
    static func yaml(_ good: String, _ bad: String) -> String {
        """
        upstreams:
          payments:
            endpoints: ["\(good)"]
          orders:
            endpoints: ["\(bad)"]
            retry: { max_attempts: 1 }
            breaker: { window: { kind: count, size: 10 }, min_calls: 4, failure_rate: 50, open_for: 30s }
            fallback: { static: { status: 200, body: "later" } }
        """
    }

    @Test("/metrics counts calls by outcome, fills the latency histograms and shows the breaker open after 500s")
    func metricsAfterRealCalls() async throws {
        let good = try await TestHTTPServer.start()
        good.behaviour = .respond(status: 200, body: "ok")
        let bad = try await TestHTTPServer.start()
        bad.behaviour = .respond(status: 500, body: "boom")
        try await AgentHarness.withAgent(yaml: Self.yaml(good.address, bad.address)) { agent in
            let address = try #require(agent.agent.httpAddress)
            #expect(address.hasPrefix("127.0.0.1:") && !address.hasSuffix(":0"))
            for _ in 0..<3 { #expect(try await agent.call("payments").outcome == .ok) }
            for _ in 0..<4 { #expect(try await agent.call("orders").outcome == .upstreamFailure) }
            #expect(try await agent.breaker("orders") == .open)
            let rejected = try await agent.call("orders")
            #expect(rejected.outcome == .circuitOpen)
            #expect(rejected.fallback == .static)

            let (response, metrics) = try await PrometheusText.scrape(address)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")

            #expect(metrics.types["levee_calls_total"] == "counter")
            #expect(metrics.value("levee_calls_total", ["upstream": "payments", "outcome": "ok"]) == 3)
            #expect(metrics.value("levee_calls_total", ["upstream": "payments", "outcome": "upstream_failure"]) == 0)
            #expect(metrics.value("levee_calls_total", ["upstream": "orders", "outcome": "upstream_failure"]) == 4)
            #expect(metrics.value("levee_calls_total", ["upstream": "orders", "outcome": "circuit_open"]) == 1)
            #expect(metrics.value("levee_attempts_total", ["upstream": "orders"]) == 4)
            #expect(metrics.value("levee_rejections_total", ["upstream": "orders", "cause": "circuit_open"]) == 1)
            // Every failed call took the static fallback, the rejected one too.
            #expect(metrics.value("levee_fallbacks_total", ["upstream": "orders", "kind": "static"]) == 5)

            #expect(metrics.types["levee_call_duration_seconds"] == "histogram")
            let buckets = metrics.samples.filter {
                $0.name == "levee_call_duration_seconds_bucket" && $0.labels["upstream"] == "payments"
            }
            #expect(buckets.count == AgentMetrics.durationBuckets.count + 1)
            #expect(buckets.first { $0.labels["le"] == "+Inf" }?.value == 3)
            // Cumulative: never decreasing with `le`.
            let ordered = buckets.sorted {
                (Double($0.labels["le"]!) ?? .infinity) < (Double($1.labels["le"]!) ?? .infinity)
            }
            #expect(zip(ordered, ordered.dropFirst()).allSatisfy { $0.value <= $1.value })
            #expect(metrics.value("levee_call_duration_seconds_count", ["upstream": "payments"]) == 3)
            #expect(metrics.value("levee_attempt_duration_seconds_count", ["upstream": "payments"]) == 3)

            #expect(metrics.types["levee_breaker_state"] == "gauge")
            #expect(metrics.value("levee_breaker_state", ["upstream": "orders"]) == 1)
            #expect(metrics.value("levee_breaker_open", ["upstream": "orders"]) == 1)
            #expect(metrics.value("levee_breaker_state", ["upstream": "payments"]) == 0)
            #expect(metrics.value("levee_in_flight", ["upstream": "payments"]) == 0)
            #expect(metrics.value("levee_endpoints", ["upstream": "payments"]) == 1)
            #expect(metrics.value("levee_endpoints_ejected", ["upstream": "payments"]) == 0)
            // No degradation rules: one of the two upstreams down degrades the service.
            #expect(metrics.value("levee_service_level") == 2)

            // The same numbers in `levee upstreams` and `levee status`.
            let info = try await agent.upstream("orders")
            #expect(info.recentCalls == 5)
            #expect(info.recentFailures == 5)
            let payments = try await agent.upstream("payments")
            #expect(payments.recentCalls == 3 && payments.recentFailures == 0)
            #expect(payments.latencyP50Us > 0 && payments.latencyP99Us >= payments.latencyP50Us)
            let status = try await agent.admin.status(Levee_V1_StatusRequest())
            #expect(status.httpListen == address)
        }
        try await good.stop()
        try await bad.stop()
    }

    @Test("/healthz and /readyz answer 200; other paths 404, other methods 405")
    func probesAndErrors() async throws {
        try await AgentHarness.withAgent(yaml: "upstreams: {}") { agent in
            let address = try #require(agent.agent.httpAddress)
            try await eventually("the agent serves") {
                try await PrometheusText.get(address, path: "/readyz").status == 200
            }
            #expect(try await PrometheusText.get(address, path: "/healthz").status == 200)
            #expect(try await PrometheusText.get(address, path: "/nope").status == 404)
            let post = try await PrometheusText.get(address, path: "/metrics", method: "POST")
            #expect(post.status == 405)
            #expect(post.header("allow") == "GET, HEAD")
        }
    }

    @Test("A taken HTTP port fails the start with an error naming listen.http, and frees the sockets")
    func takenPortFailsTheStart() async throws {
        try await AgentHarness.withAgent(yaml: "upstreams: {}") { first in
            let taken = try #require(first.agent.httpAddress)
            await #expect {
                try await AgentHarness.withAgent(yaml: "upstreams: {}", http: taken) { _ in }
            } throws: { error in
                let text = "\(error)"
                return text.contains("listen.http") && text.contains(taken) && text.contains("in use")
            }
            // The first agent still serves.
            #expect(try await PrometheusText.get(taken, path: "/healthz").status == 200)
        }
    }

    @Test("The gauges of an upstream a reload removed leave /metrics")
    func removedUpstreamGaugesLeave() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "ok")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  payments: { endpoints: ["\(server.address)"] }
                  inventory: { endpoints: ["\(server.address)"] }
                """
        ) { agent in
            let address = try #require(agent.agent.httpAddress)
            var metrics = try await PrometheusText.scrape(address).1
            #expect(metrics.value("levee_breaker_state", ["upstream": "inventory"]) == 0)
            try agent.rewriteFile(
                """
                upstreams:
                  payments: { endpoints: ["\(server.address)"] }
                """
            )
            _ = try await agent.admin.reload(Levee_V1_ReloadRequest())
            metrics = try await PrometheusText.scrape(address).1
            #expect(metrics.value("levee_breaker_state", ["upstream": "inventory"]) == nil)
            #expect(metrics.value("levee_breaker_open", ["upstream": "inventory"]) == nil)
            #expect(metrics.value("levee_breaker_state", ["upstream": "payments"]) == 0)
        }
        try await server.stop()
    }

    @Test("listen.http: off starts no listener")
    func off() async throws {
        try await AgentHarness.withAgent(yaml: "upstreams: {}", http: "off") { agent in
            #expect(agent.agent.httpAddress == nil)
            let status = try await agent.admin.status(Levee_V1_StatusRequest())
            #expect(status.httpListen == "")
        }
    }
}
