import Foundation
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// What any gRPC client may do to the Guard socket, from Python's grpcio, against each Guard server
/// (`listen.guard_server`): messages up to the size limit and over it, deadlines, cancellation, many
/// streams on one connection, unknown methods, undecodable messages, Watch, and connections that
/// break HTTP/2.
@Suite(.timeLimit(.minutes(2)))
struct GuardConformanceTests {
    @Test("Python grpcio against the Guard server", arguments: GuardServerKind.allCases)
    func conformance(server kind: GuardServerKind) async throws {
        let stubs = try await Python.generateStubs()
        defer { try? FileManager.default.removeItem(atPath: stubs) }
        let echo = try await TestHTTPServer.start()
        echo.behaviour = .echo
        let stall = try await TestHTTPServer.start()
        // Longer than the client's wait for a slot after its cancels (10 s): only a cancel frees one.
        stall.behaviour = .stall(.seconds(60), then: .respond(status: 200))
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  echo:
                    endpoints: ["\(echo.address)"]
                    bulkhead: { max_concurrent: 512 }
                    timeouts: { total: 20s, attempt: 20s }
                  stall:
                    endpoints: ["\(stall.address)"]
                    bulkhead: { max_concurrent: 2, max_queue: 0 }
                    retry: { max_attempts: 1 }
                    timeouts: { total: 30s, attempt: 30s }
                """,
            listen: ["guard_server: \(kind.rawValue)", "max_message_size: 64KiB"]
        ) { agent in
            let result = try await ChildProcess.run(
                Python.executable,
                [Python.path("Tests/LeveeAgentTests/Python/conformance.py"), stubs, agent.configuration.listen.socket],
                timeout: .seconds(90)
            )
            try #require(result.status == 0, "the Python client failed: \(result.output)")
            let seen = try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            )
            let large = try #require(seen["large"] as? [String: Any])
            #expect(large["outcome"] as? String == "OUTCOME_OK")
            #expect(large["same"] as? Bool == true)
            #expect((seen["oversized"] as? [String: Any])?["code"] as? String == "RESOURCE_EXHAUSTED")
            let deadline = try #require(seen["deadline"] as? [String: Any])
            // The agent answers TIMEOUT 2 ms before the deadline; a slow (debug) build may miss that.
            #expect(
                deadline["outcome"] as? String == "OUTCOME_TIMEOUT"
                    || deadline["code"] as? String == "DEADLINE_EXCEEDED",
                "\(deadline)"
            )
            #expect((deadline["seconds"] as? Double ?? 99) < 3)
            #expect(seen["after_cancel"] as? String == "OUTCOME_TIMEOUT", "\(seen["after_cancel"] ?? "")")
            // Every RPC is answered, and every OK answer carries its own request's body. (On a loaded
            // machine a call may time out upstream: an answer, not an RPC error.)
            let concurrent = try #require(seen["concurrent"] as? [String: Any])
            #expect(concurrent["answered"] as? Int == 300, "\(concurrent)")
            #expect(concurrent["wrong_body"] as? Int == 0, "\(concurrent)")
            #expect((concurrent["ok"] as? Int ?? 0) > 0, "\(concurrent)")
            let unknown = try #require(seen["unknown_method"] as? [String: Any])
            #expect(unknown["code"] as? String == "UNIMPLEMENTED")
            let garbage = try #require(seen["garbage_message"] as? [String: Any])
            #expect(["INVALID_ARGUMENT", "INTERNAL"].contains(garbage["code"] as? String ?? ""), "\(garbage)")
            #expect(seen["watch"] as? [String] == ["echo"])
            #expect(seen["malformed"] as? Int == 5)
            #expect(seen["ping_after"] as? Bool == true)
            #expect(try await agent.upstream("stall").inFlight == 0)
        }
        try await echo.stop()
        try await stall.stop()
    }
}
