import Foundation
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeTestKit
import NIOCore
import NIOPosix
import Testing

/// The plain HTTP/1.1 proxy listener end to end: real upstream servers, real clients (the test's own
/// HTTP/1.1 client, curl, Python's standard library), the same guarded call as `Guard.Call`.
@Suite(.timeLimit(.minutes(3)))
struct ProxyListenerTests {
    /// The port of the agent's proxy listener.
    static func port(_ agent: AgentHarness) throws -> Int {
        let address = try #require(agent.agent.proxyAddress)
        return try #require(Int(address.split(separator: ":").last ?? ""))
    }

    /// One request to the proxy listener on a new connection.
    static func send(
        _ agent: AgentHarness,
        host: String,
        method: String = "GET",
        _ uri: String = "/",
        headers: [(String, String)] = [],
        body: String = ""
    ) async throws -> TestHTTPResponse {
        try await TestHTTPConnection.send(
            port: try port(agent),
            method: method,
            uri: uri,
            headers: [("host", host)] + headers,
            body: body
        )
    }

    @Test("A plain call: the upstream's answer, Levee's headers; option and hop-by-hop headers are not forwarded")
    func plainCall() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .echo
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders: { endpoints: ["\(server.address)"] }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            let response = try await Self.send(
                agent,
                host: "orders:9902",
                method: "POST",
                "/orders?id=7",
                headers: [
                    ("x-levee-timeout-ms", "5000"), ("x-levee-priority", "critical"), ("x-levee-cache-key", "k"),
                    ("connection", "keep-alive, x-hop"), ("x-hop", "1"), ("te", "trailers"), ("x-app", "kept"),
                    ("idempotency-key", "order-7"),
                ],
                body: "order"
            )
            #expect(response.status == 200)
            #expect(response.bodyString == "order")
            #expect(response.header("x-levee-outcome") == "ok")
            #expect(response.header("x-levee-attempts") == "1")
            #expect(response.header("x-levee-endpoint") == server.address)
            #expect(response.header("via")?.contains("levee") == true)

            let seen = try #require(server.requests.last)
            #expect(seen.method == "POST")
            #expect(seen.uri == "/orders?id=7")
            #expect(seen.header("x-app") == "kept")
            #expect(seen.header("idempotency-key") == "order-7")
            #expect(seen.header("host") == server.address)
            #expect(seen.header("via")?.contains("levee") == true)
            for dropped in ["x-hop", "te", "x-levee-priority", "x-levee-cache-key", "connection"] {
                #expect(seen.header(dropped) == nil, "\(dropped) was forwarded")
            }
            // The deadline from x-levee-timeout-ms is propagated with the time left.
            let left = try #require(seen.header("x-levee-timeout-ms").flatMap { Int($0) })
            #expect(left <= 5000 && left > 3000)
        }
        try await server.stop()
    }

    @Test("Keep-alive on both sides: many calls on one app connection use one upstream connection")
    func keepAliveReuse() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "ok")
        try await AgentHarness.withAgent(
            yaml: "upstreams:\n  orders: { endpoints: [\"\(server.address)\"] }",
            proxy: "127.0.0.1:0"
        ) { agent in
            try await TestHTTPConnection.with(port: try Self.port(agent)) { connection in
                for index in 0..<25 {
                    let response = try await connection.send(uri: "/\(index)", headers: [("host", "orders")])
                    #expect(response.status == 200)
                    #expect(response.header("x-levee-outcome") == "ok")
                }
            }
            #expect(server.requestCount == 25)
            #expect(server.acceptedConnections == 1)
        }
        try await server.stop()
    }

    @Test("A 503 is retried on the other endpoint and answered; POST is retried only with an idempotency-key")
    func retries() async throws {
        let sick = try await TestHTTPServer.start()
        sick.behaviour = .respond(status: 503, body: "busy")
        let healthy = try await TestHTTPServer.start()
        healthy.behaviour = .respond(status: 200, body: "fine")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders:
                    endpoints: ["\(sick.address)", "\(healthy.address)"]
                    load_balancing: { policy: round_robin }
                    retry: { max_attempts: 3, backoff: { base: 1ms, max: 5ms }, on: [connect-failure, reset, timeout, 5xx] }
                    outlier_detection: { consecutive_failures: 1000 }
                    breaker: { min_calls: 1000 }
                  only-sick:
                    endpoints: ["\(sick.address)"]
                    retry: { max_attempts: 3, backoff: { base: 1ms, max: 5ms }, on: [5xx] }
                    breaker: { min_calls: 1000 }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            var retried = 0
            for _ in 0..<4 {
                let response = try await Self.send(agent, host: "orders", "/items")
                #expect(response.status == 200)
                #expect(response.bodyString == "fine")
                #expect(response.header("x-levee-outcome") == "ok")
                if response.header("x-levee-attempts") == "2" { retried += 1 }
            }
            #expect(retried >= 1)

            sick.resetCounters()
            let post = try await Self.send(agent, host: "only-sick", method: "POST", "/pay", body: "{}")
            #expect(post.status == 503)
            #expect(post.bodyString == "busy")
            #expect(post.header("x-levee-outcome") == "upstream_failure")
            #expect(post.header("x-levee-attempts") == "1")
            #expect(sick.requestCount == 1)

            let keyed = try await Self.send(
                agent,
                host: "only-sick",
                method: "POST",
                "/pay",
                headers: [("idempotency-key", "pay-1")],
                body: "{}"
            )
            #expect(keyed.status == 503)
            #expect(keyed.header("x-levee-attempts") == "3")
            #expect(sick.requestCount == 4)
        }
        try await sick.stop()
        try await healthy.stop()
    }

    @Test("An open breaker answers 503 with Retry-After; a full bulkhead 503 too, with a line saying why")
    func refusals() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 500, body: "boom")
        server.setBehaviour(.stall(.seconds(10), then: .ok), forPath: "/slow")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  payments:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    breaker: { min_calls: 3, failure_rate: 50, open_for: 30s }
                  inventory:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    timeouts: { connect: 1s, attempt: 20s, total: 20s }
                    bulkhead: { max_concurrent: 1, max_queue: 0 }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            for _ in 0..<3 {
                let failed = try await Self.send(agent, host: "payments", "/pay")
                #expect(failed.status == 500)
                #expect(failed.header("x-levee-outcome") == "upstream_failure")
            }
            let open = try await Self.send(agent, host: "payments", "/pay")
            #expect(open.status == 503)
            #expect(open.header("x-levee-outcome") == "circuit_open")
            #expect(open.header("x-levee-attempts") == "0")
            let retryAfter = try #require(open.header("retry-after").flatMap { Int($0) })
            #expect(retryAfter >= 1 && retryAfter <= 30)
            #expect(open.bodyString.hasPrefix("levee: circuit_open: circuit open"))

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await Self.send(agent, host: "inventory", "/slow") }
                try await eventually("the only slot is taken") {
                    try await agent.upstream("inventory").inFlight == 1
                }
                let full = try await Self.send(agent, host: "inventory", "/quick")
                #expect(full.status == 503)
                #expect(full.header("x-levee-outcome") == "bulkhead_full")
                #expect(full.header("retry-after") != nil)
                #expect(full.bodyString.hasPrefix("levee: bulkhead_full:"))
                group.cancelAll()
            }
        }
        try await server.stop()
    }

    @Test("A call queued for a bulkhead slot gets it when the slot frees, and is answered")
    func queuedForSlot() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "quick")
        server.setBehaviour(.stall(.seconds(2), then: .respond(status: 200, body: "slow")), forPath: "/slow")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  inventory:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    timeouts: { connect: 1s, attempt: 5s, total: 6s }
                    bulkhead: { max_concurrent: 1, max_queue: 4, queue_timeout: 5s }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            try await withThrowingTaskGroup(of: TestHTTPResponse.self) { group in
                group.addTask { try await Self.send(agent, host: "inventory", "/slow") }
                try await eventually("the only slot is taken") {
                    try await agent.upstream("inventory").inFlight == 1
                }
                let queued = try await Self.send(agent, host: "inventory", "/quick")
                #expect(queued.status == 200)
                #expect(queued.bodyString == "quick")
                #expect(queued.header("x-levee-outcome") == "ok")
                let slow = try #require(try await group.next())
                #expect(slow.bodyString == "slow")
            }
            #expect(try await agent.upstream("inventory").inFlight == 0)
        }
        try await server.stop()
    }

    @Test("x-levee-timeout-ms sets the deadline: 504 near it, and the upstream is told the time left")
    func deadline() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .stall(.seconds(10), then: .ok)
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  slow:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    timeouts: { connect: 1s, attempt: 8s, total: 9s }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            let started = ContinuousClock.now
            let response = try await Self.send(agent, host: "slow", "/", headers: [("x-levee-timeout-ms", "1000")])
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 504)
            #expect(response.header("x-levee-outcome") == "timeout")
            #expect(response.bodyString.hasPrefix("levee: timeout:"))
            #expect(elapsed >= .milliseconds(950) && elapsed < .seconds(6), "took \(elapsed)")
            let told = try #require(server.requests.last?.header("x-levee-timeout-ms").flatMap { Int($0) })
            #expect(told <= 1000 && told > 0)

            let bad = try await Self.send(agent, host: "slow", "/", headers: [("x-levee-timeout-ms", "soon")])
            #expect(bad.status == 400)
            #expect(bad.bodyString.contains("x-levee-timeout-ms"))
            let badPriority = try await Self.send(agent, host: "slow", "/", headers: [("x-levee-priority", "urgent")])
            #expect(badPriority.status == 400)
            #expect(badPriority.bodyString.contains("critical, normal or sheddable"))
        }
        try await server.stop()
    }

    @Test("Fallback answers carry x-levee-fallback: stale for a cached read, static otherwise")
    func fallbacks() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "fresh")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  catalog:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    fallback:
                      stale: { max_age: 30s }
                      static: { status: 200, body: 'static' }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            let fresh = try await Self.send(agent, host: "catalog", "/items")
            #expect(fresh.bodyString == "fresh" && fresh.header("x-levee-fallback") == nil)
            server.behaviour = .respond(status: 503, body: "down")
            let stale = try await Self.send(agent, host: "catalog", "/items")
            #expect(stale.status == 200)
            #expect(stale.bodyString == "fresh")
            #expect(stale.header("x-levee-fallback") == "stale")
            #expect(stale.header("x-levee-outcome") == "upstream_failure")
            let keyed = try await Self.send(agent, host: "catalog", "/other", headers: [("x-levee-cache-key", "items")])
            #expect(keyed.header("x-levee-fallback") == "static")
            #expect(keyed.bodyString == "static")
        }
        try await server.stop()
    }

    @Test("An unknown Host is 404 naming it and the configured upstreams; a missing one is 400")
    func unknownHost() async throws {
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders: { endpoints: ["127.0.0.1:9"] }
                  payments: { endpoints: ["127.0.0.1:9"] }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            let unknown = try await Self.send(agent, host: "shipping:80", "/")
            #expect(unknown.status == 404)
            #expect(unknown.bodyString.contains("shipping"))
            #expect(unknown.bodyString.contains("orders, payments"))
            #expect(unknown.header("x-levee-outcome") == nil)
            let noHost = try await Self.send(agent, host: "", "/")
            #expect(noHost.status == 400)
            #expect(noHost.bodyString.contains("Host"))
        }
    }

    @Test("With dynamic upstreams, Host: host:port calls that address; a configured name wins over its port")
    func dynamicHost() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "dynamic")
        try await AgentHarness.withAgent(
            yaml: """
                dynamic_upstreams: true
                upstreams:
                  named: { endpoints: ["\(server.address)"] }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            let dynamic = try await Self.send(agent, host: server.address, "/")
            #expect(dynamic.status == 200)
            #expect(dynamic.bodyString == "dynamic")
            #expect(dynamic.header("x-levee-endpoint") == server.address)
            let named = try await Self.send(agent, host: "named:1", "/")
            #expect(named.status == 200)
            #expect(named.header("x-levee-endpoint") == server.address)
            #expect(try await agent.upstream(server.address).name == server.address)
        }
        try await server.stop()
    }

    @Test("A refused connect fails its attempt at once, and the answer says so cleanly (proxy and Guard.Call)")
    func refusedConnectFailsFast() async throws {
        let closed = try await TestHTTPServer.start()
        let address = closed.address
        try await closed.stop()
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  gone:
                    endpoints: ["\(address)"]
                    timeouts: { connect: 5s, attempt: 6s, total: 20s }
                    retry: { max_attempts: 3, backoff: { base: 1ms, max: 2ms } }
                    breaker: { min_calls: 1000 }
                    outlier_detection: { consecutive_failures: 1000 }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            let started = ContinuousClock.now
            let response = try await Self.send(agent, host: "gone", "/")
            // Three attempts that each waited for the 5 s connect timeout would take 15 s.
            #expect(ContinuousClock.now - started < .seconds(4))
            #expect(response.status == 502)
            #expect(response.header("x-levee-outcome") == "connect_failure")
            #expect(response.header("x-levee-attempts") == "3")
            #expect(response.bodyString.contains("connect to \(address) failed: connection refused"))
            #expect(!response.bodyString.contains("errno"))

            let call = try await agent.call("gone", "GET", "/")
            #expect(call.outcome == .connectFailure)
            #expect(call.attempts == 3)
            #expect(call.detail == "connect to \(address) failed: connection refused after 3 attempts (max_attempts)")
        }
    }

    @Test("Request bodies above listen.max_request_body are refused with 413, by length or as they stream")
    func tooLarge() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .echo
        try await AgentHarness.withAgent(
            yaml: "upstreams:\n  orders: { endpoints: [\"\(server.address)\"] }",
            proxy: "127.0.0.1:0",
            listen: ["max_request_body: 1KiB"]
        ) { agent in
            let fits = try await Self.send(
                agent,
                host: "orders",
                method: "POST",
                "/",
                body: String(repeating: "a", count: 1024)
            )
            #expect(fits.status == 200)
            let large = try await Self.send(
                agent,
                host: "orders",
                method: "POST",
                "/",
                body: String(repeating: "a", count: 1025)
            )
            #expect(large.status == 413)
            #expect(large.bodyString.contains("listen.max_request_body"))
            #expect(large.header("connection") == "close")
            // A chunked body has no length to check up front: refused when it passes the limit.
            let chunked = try await Curl.run([
                "-s", "-i", "-H", "Host: orders", "-H", "Transfer-Encoding: chunked", "--data-binary",
                String(repeating: "b", count: 4000), "http://127.0.0.1:\(try Self.port(agent))/",
            ])
            #expect(chunked.contains("HTTP/1.1 413"))
            #expect(server.requestCount == 1)
        }
        try await server.stop()
    }

    @Test("Chunked bodies both ways: the app's chunked request and the upstream's chunked answer arrive whole")
    func chunkedBothWays() async throws {
        try await PythonUpstream.with { upstream in
            try await AgentHarness.withAgent(
                yaml: "upstreams:\n  py: { endpoints: [\"\(upstream)\"] }",
                proxy: "127.0.0.1:0"
            ) { agent in
                let port = try Self.port(agent)
                let answer = try await Curl.run(["-s", "-H", "Host: py", "http://127.0.0.1:\(port)/chunked"])
                #expect(answer == "first;second;third")
                let echoed = try await Curl.run([
                    "-s", "-i", "-H", "Host: py", "-H", "Transfer-Encoding: chunked", "--data-binary", "streamed body",
                    "http://127.0.0.1:\(port)/echo",
                ])
                #expect(echoed.hasSuffix("streamed body"))
                #expect(echoed.lowercased().contains("x-levee-outcome: ok"))
            }
        }
    }

    @Test("An upstream that writes head and body in two segments: back-to-back calls through Levee answer whole")
    func noDelayedAckStall() async throws {
        try await PythonUpstream.with { upstream in
            try await AgentHarness.withAgent(
                yaml: "upstreams:\n  py: { endpoints: [\"\(upstream)\"], retry: { max_attempts: 1 } }",
                proxy: "127.0.0.1:0"
            ) { agent in
                // Linux's delayed ACK holds each answer's second segment about 40 ms from a keep-alive
                // client that does not ACK the head at once; the server itself answers in about a
                // millisecond. The same client calls the server directly, then through Levee (whose
                // upstream connection is kept alive too), each a run of back-to-back calls: a pause
                // between calls would let the kernel ACK at once on its own.
                let upstreamPort = try #require(Int(upstream.split(separator: ":").last ?? ""))
                let direct = try await Self.medianOfCalls(port: upstreamPort, host: nil)
                let viaLevee = try await Self.medianOfCalls(port: try Self.port(agent), host: "py")
                // Tests never assert on speed (a loaded CI machine slows either side): the medians are
                // printed for whoever looks; the assertions are in medianOfCalls (every answer whole).
                print("noDelayedAckStall: median through Levee \(viaLevee), direct \(direct)")
                let guardCall = try await agent.call("py", "GET", "/")
                #expect(guardCall.outcome == .ok)
            }
        }
    }

    /// The median time of 12 back-to-back calls on one keep-alive connection (after a first one).
    static func medianOfCalls(port: Int, host: String?) async throws -> Duration {
        try await TestHTTPConnection.with(port: port) { connection in
            var timings: [Duration] = []
            for round in 0..<13 {
                let started = ContinuousClock.now
                let response = try await connection.send(uri: "/", headers: host.map { [("host", $0)] } ?? [])
                if round > 0 { timings.append(ContinuousClock.now - started) }
                #expect(response.bodyString == "two segments")
            }
            return timings.sorted()[timings.count / 2]
        }
    }

    @Test("A client that stalls mid-request holds no bulkhead slot: the other calls go on meanwhile")
    func stalledClientHoldsNothing() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "ok")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders:
                    endpoints: ["\(server.address)"]
                    bulkhead: { max_concurrent: 1, max_queue: 0 }
                """,
            proxy: "127.0.0.1:0"
        ) { agent in
            let port = try Self.port(agent)
            let stalled = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            let partial = "POST /slowly HTTP/1.1\r\nhost: orders\r\ncontent-length: 100\r\n\r\n0123456789"
            try await stalled.writeAndFlush(ByteBuffer(string: partial)).get()
            for index in 0..<20 {
                let response = try await Self.send(agent, host: "orders", "/\(index)")
                #expect(response.status == 200)
                #expect(response.header("x-levee-outcome") == "ok")
            }
            #expect(try await agent.upstream("orders").inFlight == 0)
            #expect(!server.requests.contains { $0.path == "/slowly" })
            try await stalled.close()
        }
        try await server.stop()
    }

    @Test("The Unix-socket listener, with curl; Python's standard library over TCP and as an HTTP proxy")
    func realClients() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "hello")
        try await AgentHarness.withAgent(
            yaml: "upstreams:\n  greeter: { endpoints: [\"\(server.address)\"] }",
            proxy: "127.0.0.1:0",
            proxySocket: true
        ) { agent in
            let socket = try #require(agent.configuration.listen.proxySocket)
            let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
            #expect(mode == 0o660)
            let viaSocket = try await Curl.run(["-s", "-i", "--unix-socket", socket, "http://greeter/hello"])
            #expect(viaSocket.hasPrefix("HTTP/1.1 200"))
            #expect(viaSocket.hasSuffix("hello"))
            #expect(viaSocket.lowercased().contains("x-levee-outcome: ok"))

            let proxy = try #require(agent.agent.proxyAddress)
            let python = try await ChildProcess.run(
                Python.executable,
                [Python.path("Tests/LeveeAgentTests/Python/stdlib_client.py"), proxy, "greeter"]
            )
            try #require(python.status == 0, "\(python.output)")
            let result = try #require(
                try JSONSerialization.jsonObject(with: Data(python.standardOutput.utf8)) as? [String: [String: Any]]
            )
            #expect(result["direct"]?["status"] as? Int == 200)
            #expect(result["direct"]?["body"] as? String == "hello")
            #expect(result["direct"]?["outcome"] as? String == "ok")
            #expect(result["proxied"]?["status"] as? Int == 200)
            #expect(result["proxied"]?["outcome"] as? String == "ok")
        }
        try await server.stop()
    }
}

/// curl, as an app would run it.
enum Curl {
    static func run(_ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.run(
            "/usr/bin/curl",
            ["--max-time", "20"] + arguments,
            timeout: .seconds(30)
        )
        try #require(result.status == 0, "curl \(arguments) failed: \(result.output)")
        return result.standardOutput
    }
}

/// `two_segment_server.py`: an HTTP/1.1 keep-alive upstream made with Python's http.server.
enum PythonUpstream {
    static func with(_ body: (String) async throws -> Void) async throws {
        let directory = try AgentHarness.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let portFile = "\(directory)/port"
        let child = try RunningChild.start(
            Python.executable,
            [Python.path("Tests/LeveeAgentTests/Python/two_segment_server.py"), portFile],
            stem: "two-segment"
        )
        do {
            try await eventually("the Python upstream listens") { FileManager.default.fileExists(atPath: portFile) }
            let port = try String(contentsOfFile: portFile, encoding: .utf8)
            try await body("127.0.0.1:\(port)")
        } catch {
            await child.kill()
            throw error
        }
        await child.kill()
    }
}
