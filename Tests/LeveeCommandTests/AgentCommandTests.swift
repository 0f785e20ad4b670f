import Foundation
import LeveeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `levee agent` and the operator's commands, run as processes the way an operator types them.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct AgentCommandTests {
    @Test("A bad config is refused with its file and key path, and nothing starts")
    func badConfigIsRefused() async throws {
        let (directory, config, socket, _) = try AgentProcess.makeConfig(
            """
            upstreams:
              payments:
                endpoints: ["127.0.0.1:8081"]
                breaker: { failure_rate: 150 }
            """
        )
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = try await CommandRunner.levee("agent", "--config", config)
        #expect(agent.status != 0)
        #expect(agent.standardError.contains(config))
        #expect(agent.standardError.contains("upstreams.payments.breaker.failure_rate"))
        #expect(!FileManager.default.fileExists(atPath: socket))

        let validate = try await CommandRunner.levee("validate", config)
        #expect(validate.status == 1)
        #expect(validate.standardError.contains("upstreams.payments.breaker.failure_rate"))
        let json = try await CommandRunner.levee("validate", config, "--json")
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        #expect(object?["valid"] as? Bool == false)
        #expect(object?["key_path"] as? String == "upstreams.payments.breaker.failure_rate")
    }

    @Test("Sockets: parent created, modes 0660 and 0600, a live agent's socket is not taken, a stale one is replaced")
    func socketsAreGuarded() async throws {
        let yaml = "upstreams: {}"
        let agent = try await AgentProcess.start(yaml: yaml)
        var info = stat()
        #expect(stat(agent.socket, &info) == 0 && info.st_mode & 0o777 == 0o660)
        #expect(stat(agent.adminSocket, &info) == 0 && info.st_mode & 0o777 == 0o600)

        // A second agent on the same sockets refuses, and the first keeps serving.
        let second = try await CommandRunner.levee("agent", "--config", agent.configPath)
        #expect(second.status != 0)
        #expect(second.standardError.contains("another agent is listening"))
        #expect(try await agent.levee("status").status == 0)

        // SIGKILL leaves stale socket files behind; the next agent replaces them.
        agent.signal(SIGKILL)
        #expect(await agent.waitForExit(within: .seconds(10)) != nil)
        #expect(FileManager.default.fileExists(atPath: agent.socket))
        let (directory, config, socket, admin) = (agent.directory, agent.configPath, agent.socket, agent.adminSocket)
        let restarted = try await AgentProcess.start(directory: directory, config: config, socket: socket, admin: admin)
        #expect(try await restarted.levee("status").status == 0)
    }

    @Test("The CLI shows and steers the agent: status, upstreams, breaker, call, reload, all with --json")
    func cliAgainstARunningAgent() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "charged")
        let agent = try await AgentProcess.start(
            yaml: """
                service: orders
                upstreams:
                  payments:
                    endpoints: ["\(server.address)"]
                    fallback: { static: { status: 200, body: "later" } }
                """
        )
        let status = try await agent.levee("status", "--json")
        #expect(status.status == 0, "\(status.output)")
        let statusObject = try JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8)) as? [String: Any]
        #expect(statusObject?["service"] as? String == "orders")

        let call = try await agent.levee("call", "payments", "/charge", "-X", "POST", "-d", "{}", "-H", "X-Trace: 1")
        #expect(call.status == 0)
        #expect(call.standardOutput.contains("charged"))
        #expect(call.standardError.contains("OK 200"))
        #expect(server.requests.last?.header("x-trace") == "1")

        let open = try await agent.levee("breaker", "open", "payments")
        #expect(open.status == 0)
        #expect(open.standardOutput.contains("forced_open"))
        let upstreams = try await agent.levee("upstreams", "--json")
        let list = try JSONSerialization.jsonObject(with: Data(upstreams.standardOutput.utf8)) as? [[String: Any]]
        let payments = try #require(list?.first)
        #expect(payments["name"] as? String == "payments")
        #expect(payments["breaker"] as? String == "forced_open")
        #expect(payments["in_flight"] as? Int == 0)
        #expect(payments["queued"] as? Int == 0)
        #expect(payments["peers_reporting_open"] as? [String] == [])  // no pool: no peer reports
        let table = try await agent.levee("upstreams")
        #expect(table.standardOutput.contains("forced_open"))

        let rejected = try await agent.levee("call", "payments", "/charge", "--json")
        #expect(rejected.status == 1)
        let rejectedObject =
            try JSONSerialization.jsonObject(with: Data(rejected.standardOutput.utf8)) as? [String: Any]
        #expect(rejectedObject?["outcome"] as? String == "CIRCUIT_OPEN")
        #expect(rejectedObject?["fallback"] as? String == "static")
        #expect(rejectedObject?["body"] as? String == "later")

        #expect(try await agent.levee("breaker", "reset", "payments").status == 0)
        let reload = try await agent.levee("reload", "--json")
        #expect(reload.status == 0, "\(reload.output)")
        #expect(reload.standardOutput.contains("\"config_generation\" : 1"))
        try await server.stop()
    }

    @Test("With no agent, the CLI says so and how to start one")
    func noAgent() async throws {
        let result = try await CommandRunner.levee(
            "status",
            "--admin-socket",
            "/tmp/levee-none-\(UInt32.random(in: .min ... .max)).sock"
        )
        #expect(result.status != 0)
        #expect(result.standardError.contains("no agent answers"))
        #expect(result.standardError.contains("levee agent"))
    }

    @Test("SIGTERM: the agent stops accepting, lets the call in flight finish, and removes its sockets")
    func sigtermDrains() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .stall(.milliseconds(1500), then: .respond(status: 200, body: "finished"))
        let agent = try await AgentProcess.start(
            yaml: """
                upstreams:
                  slow: { endpoints: ["\(server.address)"], timeouts: { connect: 1s, attempt: 5s, total: 5s } }
                """
        )
        try await withThrowingTaskGroup(of: ChildProcess.Result.self) { group in
            group.addTask { try await agent.levee("call", "slow", "/work") }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            while server.requestCount == 0 && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(server.requestCount == 1)
            agent.signal(SIGTERM)
            let call = try #require(try await group.next())
            #expect(call.status == 0, "\(call.output)")
            #expect(call.standardOutput.contains("finished"))
        }
        #expect(await agent.waitForExit(within: .seconds(10)) == 0)
        #expect(!FileManager.default.fileExists(atPath: agent.socket))
        #expect(!FileManager.default.fileExists(atPath: agent.adminSocket))
        try await server.stop()
    }

    @Test("SIGTERM the moment the agent says it listens: it drains and exits 0, never dies of the signal")
    func sigtermAtOnce() async throws {
        // The signals must be trapped before the line: a supervisor (or a test) may act on it at once.
        for _ in 0..<5 {
            let agent = try await AgentProcess.start(yaml: "upstreams: {}", arguments: ["--proxy", "127.0.0.1:0"])
            // Polled closely (loggedAddress polls every 20 ms), to signal within a millisecond or so.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            while !agent.standardError.contains("levee agent listening") && clock.now < deadline {
                try await Task.sleep(for: .microseconds(200))
            }
            agent.signal(SIGTERM)
            let status = await agent.waitForExit(within: .seconds(10))
            #expect(status == 0, "\(agent.standardError)")
            #expect(!FileManager.default.fileExists(atPath: agent.socket))
        }
    }
}

/// `levee agent` with a gossip section, beside a real `serf agent`.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct AgentGossipCommandTests {
    @Test("The agent joins serf, `levee members` lists the pool, and SIGTERM leaves it: serf shows `left`")
    func joinsListsAndLeaves() async throws {
        try await withSerfAgent(name: "serf-pool") { serf in
            let agent = try await AgentProcess.start(
                yaml: """
                    service: orders
                    upstreams: {}
                    gossip:
                      name: levee-agent-1
                      bind: 127.0.0.1:0
                      join: ["\(serf.bindAddress)"]
                      service_address: 127.0.0.1:8080
                    """
            )
            let seen = try await serf.waitForMember("levee-agent-1") { $0.status == "alive" }
            #expect(seen.tags["svc"] == "orders")
            #expect(seen.tags["health"] == "passing")

            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            var members: [[String: Any]] = []
            while clock.now < deadline {
                let result = try await agent.levee("members", "--json")
                members =
                    (try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
                    ?? []
                if members.contains(where: {
                    $0["name"] as? String == "serf-pool" && $0["status"] as? String == "alive"
                }) {
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(members.contains { $0["name"] as? String == "serf-pool" && $0["status"] as? String == "alive" })
            let local = members.first { $0["local"] as? Bool == true }
            #expect(local?["name"] as? String == "levee-agent-1")
            #expect((local?["tags"] as? [String: String])?["addr"] == "127.0.0.1:8080")
            let table = try await agent.levee("members")
            #expect(table.standardOutput.contains("levee-agent-1 (this agent)"))

            agent.signal(SIGTERM)
            #expect(await agent.waitForExit(within: .seconds(15)) == 0)
            _ = try await serf.waitForMember("levee-agent-1") { $0.status == "left" }
        }
    }
}
