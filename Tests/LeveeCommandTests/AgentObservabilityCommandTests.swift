import Foundation
import LeveeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `levee agent`'s logs and HTTP listener as an operator sees them: JSON lines on stderr, probes
/// that follow the drain on SIGTERM.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct AgentObservabilityCommandTests {
    static func get(_ address: String, _ path: String) async throws -> TestHTTPResponse {
        let colon = try #require(address.lastIndex(of: ":"))
        let port = try #require(Int(address[address.index(after: colon)...]))
        return try await TestHTTPConnection.send(host: String(address[..<colon]), port: port, uri: path)
    }

    @Test(
        "--log-format json: every stderr line is a JSON object; the breaker opening is one line with its cause, calls none"
    )
    func jsonLogs() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 500, body: "boom")
        let agent = try await AgentProcess.start(
            yaml: """
                upstreams:
                  payments:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    breaker: { window: { kind: count, size: 10 }, min_calls: 4, failure_rate: 50, open_for: 30s }
                """,
            arguments: ["--log-format", "json", "--log-level", "info"]
        )
        let address = try await agent.httpAddress()
        let calls = 6
        for _ in 0..<calls { _ = try await agent.levee("call", "payments", "/") }
        agent.signal(SIGTERM)
        #expect(await agent.waitForExit(within: .seconds(15)) == 0)

        let lines = agent.standardError.split(separator: "\n")
        var objects: [[String: Any]] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let parsed = try #require(object, "not a JSON object: \(line)")
            #expect(parsed["timestamp"] is String && parsed["level"] is String && parsed["label"] is String)
            #expect(parsed["message"] is String)
            objects.append(parsed)
        }
        let listening = try #require(objects.first { $0["message"] as? String == "levee agent listening" })
        #expect((listening["metadata"] as? [String: Any])?["http"] as? String == address)
        let opened = objects.filter { ($0["message"] as? String)?.hasPrefix("breaker CLOSED -> OPEN") == true }
        #expect(opened.count == 1)
        let metadata = try #require(opened.first?["metadata"] as? [String: Any])
        #expect(metadata["upstream"] as? String == "payments")
        #expect((metadata["cause"] as? String)?.isEmpty == false)
        #expect(objects.count < calls, "a line per call? \(agent.standardError)")
        try await server.stop()
    }

    @Test("SIGTERM: /readyz turns 503 while the call in flight drains, /healthz stays 200; --http off turns it off")
    func readyzFollowsTheDrain() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .stall(.milliseconds(3000), then: .respond(status: 200, body: "finished"))
        let agent = try await AgentProcess.start(
            yaml: """
                upstreams:
                  slow: { endpoints: ["\(server.address)"], timeouts: { connect: 1s, attempt: 10s, total: 10s } }
                """,
            arguments: ["--http", "127.0.0.1:0"]
        )
        let address = try await agent.httpAddress()
        #expect(try await Self.get(address, "/readyz").status == 200)
        let metrics = try await Self.get(address, "/metrics")
        #expect(metrics.status == 200 && metrics.bodyString.contains("levee_calls_total"))
        try await withThrowingTaskGroup(of: ChildProcess.Result.self) { group in
            group.addTask { try await agent.levee("call", "slow", "/work") }
            let clock = ContinuousClock()
            var deadline = clock.now + .seconds(10)
            while server.requestCount == 0 && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(server.requestCount == 1)
            agent.signal(SIGTERM)
            deadline = clock.now + .seconds(10)
            var readiness = 200
            while readiness == 200 && clock.now < deadline {
                readiness = try await Self.get(address, "/readyz").status
                if readiness == 200 { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(readiness == 503)
            #expect(try await Self.get(address, "/healthz").status == 200)
            let call = try #require(try await group.next())
            #expect(call.status == 0, "\(call.output)")
        }
        #expect(await agent.waitForExit(within: .seconds(10)) == 0)
        try await server.stop()

        let quiet = try await AgentProcess.start(yaml: "upstreams: {}", arguments: ["--http", "off"])
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while !quiet.standardError.contains("levee agent listening") && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(quiet.standardError.contains("http=off"))
    }

    @Test("--proxy HOST:PORT overrides listen.proxy and serves calls there; --proxy off and a bad value")
    func proxyFlag() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "through the proxy")
        let agent = try await AgentProcess.start(
            yaml: "upstreams:\n  web: { endpoints: [\"\(server.address)\"] }",
            arguments: ["--proxy", "127.0.0.1:0"]
        )
        let address = try await agent.loggedAddress("proxy")
        let port = try #require(Int(address.split(separator: ":").last ?? ""))
        #expect(port != 0)
        let answer = try await TestHTTPConnection.send(port: port, headers: [("host", "web")])
        #expect(answer.status == 200)
        #expect(answer.bodyString == "through the proxy")
        #expect(answer.header("x-levee-outcome") == "ok")
        agent.signal(SIGTERM)
        #expect(await agent.waitForExit(within: .seconds(10)) == 0)
        try await server.stop()

        let off = try await AgentProcess.start(yaml: "upstreams: {}", arguments: ["--proxy", "off"])
        #expect(try await off.loggedAddress("proxy") == "off")
        off.signal(SIGTERM)
        _ = await off.waitForExit(within: .seconds(10))

        let bad = try await CommandRunner.levee("agent", "--proxy", "nowhere")
        #expect(bad.status != 0)
        #expect(bad.standardError.contains("--proxy: expected HOST:PORT (such as 127.0.0.1:9902), or off"))
    }

    @Test("SIGTERM: a proxied call in flight is answered before the agent exits")
    func proxyDrains() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .stall(.milliseconds(1500), then: .respond(status: 200, body: "finished"))
        let agent = try await AgentProcess.start(
            yaml: """
                upstreams:
                  slow: { endpoints: ["\(server.address)"], timeouts: { connect: 1s, attempt: 10s, total: 10s } }
                """,
            arguments: ["--proxy", "127.0.0.1:0"]
        )
        let address = try await agent.loggedAddress("proxy")
        let port = try #require(Int(address.split(separator: ":").last ?? ""))
        try await withThrowingTaskGroup(of: TestHTTPResponse.self) { group in
            group.addTask { try await TestHTTPConnection.send(port: port, headers: [("host", "slow")]) }
            #expect(try await eventually(within: .seconds(10)) { server.requestCount == 1 })
            agent.signal(SIGTERM)
            let answer = try #require(try await group.next())
            #expect(answer.status == 200)
            #expect(answer.bodyString == "finished")
        }
        #expect(await agent.waitForExit(within: .seconds(10)) == 0)
        try await server.stop()
    }
}
