import Foundation
import LeveeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP reloads the agent's configuration file, as `levee reload` does.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ReloadSignalTests {
    @Test(
        "SIGHUP: a changed policy and an added upstream show; an invalid file changes nothing and the log names its key"
    )
    func hangupReloadsTheFile() async throws {
        let agent = try await AgentProcess.start(
            yaml: """
                upstreams:
                  payments:
                    endpoints: ["127.0.0.1:8081"]
                    bulkhead: { max_concurrent: 16 }
                """
        )
        // An answer from the admin API means the agent runs, and it traps SIGHUP before it serves.
        #expect(try await Self.upstreams(agent)["payments"]?["max_concurrent"] as? Int == 16)

        try Self.rewrite(
            agent,
            """
            upstreams:
              payments:
                endpoints: ["127.0.0.1:8081"]
                bulkhead: { max_concurrent: 32 }
              inventory:
                endpoints: ["127.0.0.1:8082"]
            """
        )
        agent.signal(SIGHUP)
        let reloaded = try await eventually(within: .seconds(15)) {
            let upstreams = try await Self.upstreams(agent)
            return upstreams["payments"]?["max_concurrent"] as? Int == 32 && upstreams["inventory"] != nil
        }
        #expect(reloaded, "SIGHUP did not reload: \(agent.standardError)")
        #expect(try await eventually(within: .seconds(15)) { agent.standardError.contains("configuration reloaded") })
        #expect(agent.standardError.contains("SIGHUP"))

        try Self.rewrite(
            agent,
            """
            upstreams:
              payments:
                endpoints: ["127.0.0.1:8081"]
                breaker: { failure_rate: 150 }
            """
        )
        agent.signal(SIGHUP)
        let refused = try await eventually(within: .seconds(15)) {
            agent.standardError.contains("upstreams.payments.breaker.failure_rate")
        }
        #expect(refused, "no refusal logged: \(agent.standardError)")
        #expect(agent.exit == nil)
        let after = try await Self.upstreams(agent)
        #expect(after["payments"]?["max_concurrent"] as? Int == 32)
        #expect(after["inventory"] != nil)
        let status = try await agent.levee("status", "--json")
        #expect(status.standardOutput.contains("\"config_generation\" : 1"), "\(status.output)")
    }

    @Test("A reload keeps the sockets given on the command line: status shows them and nothing warns")
    func reloadKeepsCommandLineSockets() async throws {
        let (directory, config, _, _) = try AgentProcess.makeConfig(
            """
            upstreams:
              payments: { endpoints: ["127.0.0.1:8081"] }
            """
        )
        let socket = "\(directory)/cli/levee.sock"
        let admin = "\(directory)/cli/admin.sock"
        let agent = try await AgentProcess.start(
            directory: directory,
            config: config,
            socket: socket,
            admin: admin,
            arguments: ["--socket", socket, "--admin-socket", admin]
        )
        let reload = try await agent.levee("reload")
        #expect(reload.status == 0, "\(reload.output)")
        agent.signal(SIGHUP)
        #expect(
            try await eventually(within: .seconds(15)) {
                agent.standardError.components(separatedBy: "configuration reloaded").count == 3
            }
        )

        let status = try await agent.levee("status", "--json")
        let object = try JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8)) as? [String: Any]
        #expect(object?["socket"] as? String == socket, "\(status.output)")
        #expect(object?["admin_socket"] as? String == admin, "\(status.output)")
        #expect(!agent.standardError.contains("listen sockets changed"), "\(agent.standardError)")
    }

    /// `levee upstreams --json`, by name.
    static func upstreams(_ agent: AgentProcess) async throws -> [String: [String: Any]] {
        let result = try await agent.levee("upstreams", "--json")
        let list = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] ?? []
        return Dictionary(list.compactMap { object in (object["name"] as? String).map { ($0, object) } }) { a, _ in a }
    }

    /// Replaces the agent's configuration file (same sockets), in one rename.
    static func rewrite(_ agent: AgentProcess, _ yaml: String) throws {
        try """
        listen:
          socket: \(agent.socket)
          admin_socket: \(agent.adminSocket)
          proxy: off
        \(yaml)
        """.write(toFile: agent.configPath, atomically: true, encoding: .utf8)
    }
}
