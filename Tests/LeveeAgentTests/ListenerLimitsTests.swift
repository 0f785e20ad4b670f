import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeTestKit
import Testing

/// `listen.max_*` and `listen.*_timeout`: what a caller controls is bounded, each hit counted in
/// `levee_limit_hits_total{limit,socket}` and answered with an error naming the key. Real sockets,
/// raw clients that stall, trickle or send too much, and real calls beside them.
@Suite(.serialized)
struct ListenerLimitsTests {
    static func hits(_ agent: AgentHarness, _ limit: String, _ socket: String) async throws -> Double {
        let (_, metrics) = try await PrometheusText.scrape(try #require(agent.agent.httpAddress))
        return metrics.value(MetricName.limitHits, ["limit": limit, "socket": socket]) ?? -1
    }

    static func httpPort(_ address: String?) throws -> Int {
        let address = try #require(address)
        return try #require(Int(address.split(separator: ":").last ?? ""))
    }

    @Test("Clients that send nothing or trickle hold no bulkhead slot; other clients' calls go on; timeouts close them")
    func slowClients() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  orders:
                    endpoints: ["\(server.address)"]
                    bulkhead: { max_concurrent: 2, max_queue: 0 }
                """,
            proxy: "127.0.0.1:0",
            listen: ["read_timeout: 1500ms", "idle_timeout: 3s"]
        ) { agent in
            let proxyPort = try Self.httpPort(agent.agent.proxyAddress)
            let metricsPort = try Self.httpPort(agent.agent.httpAddress)
            let socket = agent.configuration.listen.socket
            // A baseline of the calls the other clients make.
            let clock = ContinuousClock()
            /// 50 Guard calls (through `guardClient`, the harness's own by default) and 50 proxied requests.
            func calls(_ guardClient: Levee_V1_Guard.Client<HTTP2ClientTransport.Posix>? = nil) async throws -> Duration
            {
                var request = Levee_V1_CallRequest()
                request.upstream = "orders"
                request.http.method = "GET"
                request.http.path = "/"
                let start = clock.now
                for _ in 0..<50 {
                    #expect(try await (guardClient ?? agent.guardClient).call(request).outcome == .ok)
                    let proxied = try await TestHTTPConnection.send(
                        port: proxyPort,
                        method: "GET",
                        uri: "/",
                        headers: [("host", "orders")],
                        body: ""
                    )
                    #expect(proxied.status == 200)
                }
                return clock.now - start
            }
            let baseline = try await calls()

            // Connections that send nothing, on every listener.
            var idle: [RawConnection] = []
            for _ in 0..<20 {
                idle.append(try await RawConnection.connect(unixPath: socket))
                idle.append(try await RawConnection.connect(host: "127.0.0.1", port: proxyPort))
                idle.append(try await RawConnection.connect(host: "127.0.0.1", port: metricsPort))
            }
            // Requests that trickle in a byte at a time, on the proxy and the metrics listener, and a gRPC
            // request that never ends.
            let request =
                "POST / HTTP/1.1\r\nhost: orders\r\ncontent-length: 1000\r\n\r\n" + String(repeating: "x", count: 1000)
            var trickling: [RawConnection] = []
            for _ in 0..<5 {
                trickling.append(try await RawConnection.connect(host: "127.0.0.1", port: proxyPort))
            }
            let metricsTrickle = try await RawConnection.connect(host: "127.0.0.1", port: metricsPort)
            let slow = trickling + [metricsTrickle]
            let slowStatus = try await withThrowingTaskGroup(of: String.self) { group in
                group.addTask {
                    try await Self.neverEndingRPC(socket: socket)
                }
                group.addTask {
                    for byte in request.prefix(200) {
                        for connection in slow where connection.isOpen {
                            await connection.send(String(byte))
                        }
                        try await Task.sleep(for: .milliseconds(20))  // the client's pace, not a wait
                    }
                    return ""
                }
                // Meanwhile: every call of the other clients is answered, and the trickling requests
                // hold no slot of orders' bulkhead (2 slots, no queue: one held would refuse calls).
                let during = try await calls()
                #expect(try await agent.upstream("orders").inFlight == 0)
                print(
                    "ListenerLimitsTests: 50 Guard calls + 50 proxy requests took \(baseline) alone, \(during) beside 60 idle and 7 slow clients"
                )
                var status = ""
                for try await result in group where !result.isEmpty { status = result }
                return status
            }
            #expect(slowStatus.hasPrefix("DEADLINE_EXCEEDED"), "\(slowStatus)")
            #expect(slowStatus.contains("listen.read_timeout"), "\(slowStatus)")

            // The trickling requests are answered 408 at read_timeout; the idle connections closed at
            // idle_timeout.
            try await eventually("the trickling connections are closed", timeout: .seconds(20)) {
                slow.allSatisfy { !$0.isOpen }
            }
            for connection in slow {
                #expect(connection.received.hasPrefix("HTTP/1.1 408 Request Timeout"), "\(connection.received)")
                #expect(connection.received.contains("listen.read_timeout"))
            }
            try await eventually("the idle connections are closed", timeout: .seconds(20)) {
                idle.allSatisfy { !$0.isOpen }
            }
            #expect(try await Self.hits(agent, "read_timeout", "proxy") == 5)
            #expect(try await Self.hits(agent, "read_timeout", "http") == 1)
            #expect(try await Self.hits(agent, "read_timeout", "guard") == 1)
            #expect(try await Self.hits(agent, "idle_timeout", "guard") >= 20)
            #expect(try await Self.hits(agent, "idle_timeout", "proxy") >= 20)
            // The agent still answers, on new connections. Not on the harness's own Guard connection: it
            // has been idle since the calls above, and idle_timeout (3 s) may be closing it just now; a
            // call that races that close fails UNAVAILABLE ("no subchannel available"), as any gRPC
            // client's call without wait-for-ready does.
            try await withGRPCClient(
                transport: .http2NIOPosix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
            ) { connection in
                _ = try await calls(Levee_V1_Guard.Client(wrapping: connection))
            }
        }
        try await server.stop()
    }

    /// A call to Guard/Ping from a Python grpcio client whose request never comes (its headers, then
    /// nothing): the agent's answer, as "CODE: details".
    static func neverEndingRPC(socket: String) async throws -> String {
        let script = """
            import sys, time, grpc
            def requests():
                time.sleep(20)
                yield b""
            channel = grpc.insecure_channel("unix://" + sys.argv[1])
            try:
                channel.stream_unary("/levee.v1.Guard/Ping")(requests(), timeout=15)
                print("ok")
            except grpc.RpcError as error:
                print(error.code().name + ": " + error.details())
            """
        let result = try await ChildProcess.run("/usr/bin/python3", ["-c", script, socket], timeout: .seconds(30))
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("Connections over listen.max_connections are closed at once (503 on HTTP); others go on")
    func connectionLimit() async throws {
        try await AgentHarness.withAgent(
            yaml: "upstreams: {}",
            proxy: "127.0.0.1:0",
            listen: ["max_connections: 3"]
        ) { agent in
            let proxyPort = try Self.httpPort(agent.agent.proxyAddress)
            let socket = agent.configuration.listen.socket
            _ = try await agent.guardClient.ping(Levee_V1_PingRequest())  // the harness's own connection
            var held: [RawConnection] = []
            for _ in 0..<2 { held.append(try await RawConnection.connect(unixPath: socket)) }
            for _ in 0..<3 { held.append(try await RawConnection.connect(host: "127.0.0.1", port: proxyPort)) }
            let guardExtra = try await RawConnection.connect(unixPath: socket)
            let proxyExtra = try await RawConnection.connect(host: "127.0.0.1", port: proxyPort)
            try await eventually("the connections over the limit are closed") {
                !guardExtra.isOpen && !proxyExtra.isOpen
            }
            #expect(proxyExtra.received.hasPrefix("HTTP/1.1 503 Service Unavailable"), "\(proxyExtra.received)")
            #expect(proxyExtra.received.contains("listen.max_connections"))
            #expect(held.allSatisfy { $0.isOpen })
            #expect(try await Self.hits(agent, "max_connections", "guard") == 1)
            #expect(try await Self.hits(agent, "max_connections", "proxy") == 1)
            _ = try await agent.guardClient.ping(Levee_V1_PingRequest())
            // A closed connection frees its place.
            for connection in held { await connection.close() }
            try await eventually("a new proxy connection is served") {
                let connection = try await RawConnection.connect(host: "127.0.0.1", port: proxyPort)
                await connection.send("GET / HTTP/1.1\r\nhost: nowhere\r\n\r\n")
                defer { Task { await connection.close() } }
                return try await LeveeTestKit.eventually(within: .seconds(2)) {
                    connection.received.hasPrefix("HTTP/1.1 404")
                }
            }
        }
    }

    @Test("Heads over max_header_size get 431 and bodies over max_request_body 413, on the proxy and metrics listeners")
    func headerAndBodySizes() async throws {
        try await AgentHarness.withAgent(
            yaml: "upstreams: {}",
            proxy: "127.0.0.1:0",
            listen: ["max_header_size: 1KiB", "max_request_body: 1KiB"]
        ) { agent in
            let bigHeader = String(repeating: "h", count: 2000)
            for (socket, port) in [
                ("proxy", try Self.httpPort(agent.agent.proxyAddress)),
                ("http", try Self.httpPort(agent.agent.httpAddress)),
            ] {
                let head = try await RawConnection.connect(host: "127.0.0.1", port: port)
                await head.send("GET /metrics HTTP/1.1\r\nhost: orders\r\nx-big: \(bigHeader)\r\n\r\n")
                try await eventually("\(socket): the large head is answered") { !head.isOpen }
                #expect(head.received.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large"), "\(head.received)")
                #expect(head.received.contains("listen.max_header_size"))
                // Over NIO's own 80 KiB: the parser refuses it, and the answer is the same.
                let huge = try await RawConnection.connect(host: "127.0.0.1", port: port)
                await huge.send("GET / HTTP/1.1\r\nx-huge: \(String(repeating: "h", count: 90_000))\r\n\r\n")
                try await eventually("\(socket): the huge head is answered") { !huge.isOpen }
                #expect(huge.received.hasPrefix("HTTP/1.1 431"), "\(huge.received)")

                let body = try await RawConnection.connect(host: "127.0.0.1", port: port)
                await body.send(
                    "POST /metrics HTTP/1.1\r\nhost: orders\r\ncontent-length: 2000\r\n\r\n"
                        + String(repeating: "b", count: 2000)
                )
                try await eventually("\(socket): the large body is answered") { !body.isOpen }
                #expect(body.received.hasPrefix("HTTP/1.1 413 Payload Too Large"), "\(body.received)")
                #expect(body.received.contains("listen.max_request_body"))
                #expect(try await Self.hits(agent, "max_header_size", socket) == 2)
                #expect(try await Self.hits(agent, "max_request_body", socket) == 1)
            }
            // A head within the limit is served.
            let (ok, _) = try await PrometheusText.scrape(try #require(agent.agent.httpAddress))
            #expect(ok.status == 200)
        }
    }

    @Test("gRPC: a message over max_message_size is RESOURCE_EXHAUSTED; RPCs over max_streams_per_connection queue")
    func grpcLimits() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .stall(.milliseconds(200), then: .respond(status: 200))
        try await AgentHarness.withAgent(
            yaml: "upstreams:\n  orders: { endpoints: [\"\(server.address)\"] }",
            listen: ["max_message_size: 64KiB", "max_streams_per_connection: 4"]
        ) { agent in
            do {
                _ = try await agent.call("orders", "POST", "/", body: String(repeating: "m", count: 100_000))
                Issue.record("a 100 kB request was taken")
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted)
                // The C core words the refusal itself, and names both sizes.
                let expected =
                    agent.configuration.listen.guardServer == .core
                    ? "larger than max (100" : "listen.max_message_size"
                #expect(error.message.contains(expected), "\(error.message)")
            }
            #expect(try await Self.hits(agent, "max_message_size", "guard") == 1)
            #expect(try await agent.call("orders", "POST", "/", body: "small").outcome == .ok)

            // Eight calls at once on one connection of four streams: all answered, the rest queued.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let outcome = try await agent.call("orders").outcome
                        #expect(outcome == .ok)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await Self.hits(agent, "max_streams_per_connection", "guard") >= 1)
        }
        try await server.stop()
    }
}
