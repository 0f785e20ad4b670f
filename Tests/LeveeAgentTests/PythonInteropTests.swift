import Foundation
import LeveeConfiguration
import LeveeTestKit
import Testing

/// The agent called from Python (`grpcio`, stubs generated from proto/ by grpc_tools) over `unix://`:
/// the API is usable from another language as written.
@Suite(.timeLimit(.minutes(2)))
struct PythonInteropTests {
    @Test("Ping, Call, NOT_FOUND, Acquire/Release and Watch from a Python grpcio client")
    func pythonClient() async throws {
        let stubs = try await Python.generateStubs()
        defer { try? FileManager.default.removeItem(atPath: stubs) }

        let server = try await TestHTTPServer.start()
        server.behaviour = .echo
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  echo: { endpoints: ["\(server.address)"] }
                """
        ) { agent in
            let result = try await ChildProcess.run(
                Python.executable,
                [
                    Python.path("Tests/LeveeAgentTests/Python/interop.py"), stubs,
                    agent.configuration.listen.socket, "echo",
                ]
            )
            try #require(result.status == 0, "the Python client failed: \(result.output)")
            let seen = try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            )
            #expect(seen["ping"] as? Bool == true)
            let call = try #require(seen["call"] as? [String: Any])
            #expect(call["outcome"] as? String == "OUTCOME_OK")
            #expect(call["status"] as? Int == 200)
            #expect(call["body"] as? String == "from python")
            #expect(call["endpoint"] as? String == server.address)
            let unknown = try #require(seen["unknown"] as? [String: Any])
            #expect(unknown["code"] as? String == "NOT_FOUND")
            #expect((unknown["details"] as? String)?.contains("no-such-upstream") == true)
            let permit = try #require(seen["permit"] as? [String: Any])
            #expect(permit["granted"] as? Bool == true)
            #expect(permit["breaker"] as? String == "BREAKER_STATE_CLOSED")
            let watch = try #require(seen["watch"] as? [String: Any])
            #expect(watch["snapshot"] as? Bool == true)
            #expect((watch["upstreams"] as? [[String: Any]])?.first?["name"] as? String == "echo")
            #expect(server.requests.last?.header("x-client") == "python")
        }
        try await server.stop()
    }
}
