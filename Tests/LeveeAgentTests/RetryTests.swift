import Foundation
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// Retries only when safe, to another endpoint when there is one, under the retry budget.
@Suite(.timeLimit(.minutes(2)))
struct RetryTests {
    @Test("POST is not retried after a 503 without an idempotency key, and is with one")
    func postRetriedOnlyWithIdempotencyKey() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 503, body: "busy")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 3, backoff: { base: 1ms, max: 5ms }, on: [connect-failure, reset, timeout, 5xx] }
                """
        ) { agent in
            let post = try await agent.call("orders", "POST", "/orders", body: "{}")
            #expect(post.outcome == .upstreamFailure)
            #expect(post.attempts == 1)
            #expect(post.detail.contains("not idempotent"))
            #expect(server.requestCount == 1)

            let keyed = try await agent.call("orders", "POST", "/orders", body: "{}", idempotencyKey: "order-42")
            #expect(keyed.outcome == .upstreamFailure)
            #expect(keyed.attempts == 3)
            #expect(server.requestCount == 4)

            let get = try await agent.call("orders", "GET", "/orders/42")
            #expect(get.attempts == 3)
            #expect(server.requestCount == 7)
        }
        try await server.stop()
    }

    @Test("A connect failure is retried, even for a POST, on the other endpoint")
    func connectFailureRetriedOnSecondEndpoint() async throws {
        let live = try await TestHTTPServer.start()
        live.behaviour = .echo
        let dead = try await TestHTTPServer.start()
        let deadAddress = dead.address
        try await dead.stop()
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders:
                    endpoints: ["\(deadAddress)", "\(live.address)"]
                    load_balancing: { policy: round_robin }
                    retry: { max_attempts: 2, backoff: { base: 1ms, max: 5ms } }
                    outlier_detection: { consecutive_failures: 100 }
                """
        ) { agent in
            for _ in 0..<4 {
                let response = try await agent.call("orders", "POST", "/orders", body: "order")
                #expect(response.outcome == .ok, "\(response.detail)")
                #expect(response.endpoint == live.address)
                #expect(String(decoding: response.http.body, as: UTF8.self) == "order")
            }
            // Every answer came from the live endpoint; the calls that tried the dead one first took two
            // attempts (round robin moves on at each attempt, so here that is every call).
            #expect(live.requestCount == 4)
            let info = try await agent.upstream("orders")
            #expect(info.counters.retries >= 1)
            #expect(info.counters.attempts == 4 + info.counters.retries)
        }
        try await live.stop()
    }

    @Test("An exhausted retry budget stops retries; the last result is returned")
    func budgetExhaustionStopsRetries() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 503, body: "busy")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  flaky:
                    endpoints: ["\(server.address)"]
                    retry:
                      max_attempts: 3
                      backoff: { base: 1ms, max: 2ms }
                      budget: { ratio: 0.1, min_per_second: 1, ttl: 10s }
                    breaker: { min_calls: 1000, window: { kind: count, size: 1000 } }
                """
        ) { agent in
            var denied = 0
            for _ in 0..<30 {
                let response = try await agent.call("flaky", "GET", "/")
                #expect(response.outcome == .upstreamFailure)
                if response.detail.contains("retry budget") { denied += 1 }
            }
            let info = try await agent.upstream("flaky")
            #expect(denied > 0)
            #expect(info.counters.retriesDeniedByBudget > 0)
            // 30 originals deposit 0.1 each (3 retries), under the floor of min_per_second × ttl (10).
            #expect(info.counters.retries <= 10 + 1)
            #expect(Int(server.requestCount) == 30 + Int(info.counters.retries))
        }
        try await server.stop()
    }

    @Test(
        "A failure retried to the end tells callers not to retry it; an upstream's pushback is honoured and passed on"
    )
    func doNotRetryUpTheChain() async throws {
        let failing = try await TestHTTPServer.start()
        failing.behaviour = .respond(status: 503, body: "busy")
        let pushing = try await TestHTTPServer.start()
        pushing.behaviour = .respond(status: 500, headers: [("x-levee-retry-pushback-ms", "-1")], body: "retried below")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders:
                    endpoints: ["\(failing.address)"]
                    retry: { max_attempts: 3, backoff: { base: 1ms, max: 5ms } }
                  single:
                    endpoints: ["\(failing.address)"]
                    retry: { max_attempts: 1 }
                  pushing:
                    endpoints: ["\(pushing.address)"]
                    retry: { max_attempts: 3, backoff: { base: 1ms, max: 5ms } }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            // Retried as far as max_attempts allows: callers further up should not retry.
            let exhausted = try await agent.call("orders", "GET", "/")
            #expect(exhausted.attempts == 3)
            #expect(exhausted.doNotRetry)
            let proxied = try await ProxyListenerTests.send(agent, host: "orders")
            #expect(proxied.status == 503)
            #expect(proxied.header("x-levee-retry-pushback-ms") == "-1")
            // Not retried here (a POST without an idempotency key, or one attempt allowed): the caller may.
            #expect(try await agent.call("orders", "POST", "/", body: "{}").doNotRetry == false)
            #expect(try await agent.call("single", "GET", "/").doNotRetry == false)
            let single = try await ProxyListenerTests.send(agent, host: "single")
            #expect(single.header("x-levee-retry-pushback-ms") == nil)
            // The upstream says it was retried below: one attempt, and the word passed on.
            let before = pushing.requestCount
            let pushed = try await agent.call("pushing", "GET", "/")
            #expect(pushed.attempts == 1)
            #expect(pushed.doNotRetry)
            #expect(pushing.requestCount == before + 1)
            let pushedProxy = try await ProxyListenerTests.send(agent, host: "pushing")
            #expect(pushedProxy.status == 500)
            #expect(pushedProxy.header("x-levee-retry-pushback-ms") == "-1")
            #expect(pushing.requestCount == before + 2)
        }
        try await failing.stop()
        try await pushing.stop()
    }
}
