import Foundation
import LeveeTestKit
import Testing

/// examples/chaostoolkit/experiment.json run by the real Chaos Toolkit (`chaos run`, from PyPI's
/// `chaostoolkit`, which scripts/test installs) against a real agent and upstream: the experiment
/// completes, the steady state holds for an upstream with a fallback and deviates for one without,
/// and the rollback clears the fault.
@Suite(.timeLimit(.minutes(3)))
struct ChaosToolkitTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `chaos`: $LEVEE_CHAOS, else the first on PATH.
    static func chaosExecutable() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["LEVEE_CHAOS"] { return path }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/chaos"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CommandRunner.Failure(
            description: "chaos (Chaos Toolkit) is not on PATH: python3 -m pip install chaostoolkit (scripts/test does)"
        )
    }

    @Test("chaos run: completes; holds with a fallback, deviates without one; the rollback clears the fault")
    func experiment() async throws {
        let chaos = try Self.chaosExecutable()
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "paid")
        let directory = "/tmp/levee-ctk-\(UInt32.random(in: .min ... .max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (socket, admin, config) = (
            "\(directory)/run/levee.sock", "\(directory)/run/admin.sock", "\(directory)/levee.yaml"
        )
        try """
        listen: { socket: \(socket), admin_socket: \(admin), http: 127.0.0.1:0, proxy: 127.0.0.1:0 }
        chaos: { enabled: true }
        upstreams:
          payments:
            endpoints: ["\(server.address)"]
            retry: { max_attempts: 2, backoff: { base: 1ms, max: 2ms } }
            fallback:
              static: { status: 200, body: '{"status":"queued"}' }
          ledger:
            endpoints: ["\(server.address)"]
            retry: { max_attempts: 2, backoff: { base: 1ms, max: 2ms } }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(directory: directory, config: config, socket: socket, admin: admin)
        let levee = try CommandRunner.leveeExecutable()
        let environment = [
            "LEVEE": levee, "LEVEE_ADMIN_SOCKET": admin, "LEVEE_SOCKET": socket,
            "LEVEE_PROXY": try await agent.loggedAddress("proxy"), "LEVEE_METRICS": try await agent.httpAddress(),
        ]

        for (upstream, deviates) in [("payments", false), ("ledger", true)] {
            let journal = "\(directory)/journal-\(upstream).json"
            let run = try await ChildProcess.run(
                "/usr/bin/env",
                environment.map { "\($0.key)=\($0.value)" } + [
                    "LEVEE_CHAOS_UPSTREAM=\(upstream)", chaos, "--no-version-check", "--log-file",
                    "\(directory)/chaostoolkit-\(upstream).log", "run", "--journal-path", journal,
                    Self.root.appendingPathComponent("examples/chaostoolkit/experiment.json").path,
                ]
            )
            let data = try Data(contentsOf: URL(fileURLWithPath: journal))
            let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(run.output)")
            #expect(report["status"] as? String == "completed", "\(upstream): \(run.output)")
            #expect(report["deviated"] as? Bool == deviates, "\(upstream): \(run.output)")
            let states = try #require(report["steady_states"] as? [String: Any])
            #expect((states["before"] as? [String: Any])?["steady_state_met"] as? Bool == true)
            #expect((states["after"] as? [String: Any])?["steady_state_met"] as? Bool == !deviates)

            // The method's action added the fault (its id on stdout) and it hit Payments' attempts.
            let runs = try #require(report["run"] as? [[String: Any]])
            let added = try #require(
                runs.first { ($0["activity"] as? [String: Any])?["name"] as? String == "payments-answers-503" }
            )
            #expect(added["status"] as? String == "succeeded")
            let output = (added["output"] as? [String: Any])?["stdout"] as? String ?? ""
            #expect(output.hasPrefix("f"), "\(added)")
            // The rollback cleared it.
            let rollbacks = try #require(report["rollbacks"] as? [[String: Any]])
            #expect(rollbacks.first?["status"] as? String == "succeeded")
            let left = try await agent.levee("fault", "list", "--json")
            let remaining = try JSONSerialization.jsonObject(with: Data(left.standardOutput.utf8)) as? [Any]
            #expect(remaining?.isEmpty == true, "\(left.output)")
        }
        #expect(agent.standardError.contains("cleared: payments abort 503"))
        try await server.stop()
    }
}
