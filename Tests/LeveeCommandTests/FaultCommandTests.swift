import Foundation
import LeveeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `levee fault add|list|clear` as an operator types them, against `levee agent` run as a process: the
/// refusal while chaos is off, the id printed, the JSON, the log lines, `levee upstreams` and `levee
/// top`, expiry, and a restart that clears the faults.
@Suite(.timeLimit(.minutes(3)))
struct FaultCommandTests {
    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    @Test("While chaos is off every fault command fails, naming chaos.enabled")
    func disabled() async throws {
        let server = try await TestHTTPServer.start()
        let agent = try await AgentProcess.start(yaml: "upstreams:\n  web: { endpoints: [\"\(server.address)\"] }")
        for arguments in [["fault", "add", "web", "--reset"], ["fault", "list"], ["fault", "clear", "--all"]] {
            let result = try await ChildProcess.run(
                CommandRunner.leveeExecutable(),
                arguments + ["--socket", agent.socket, "--admin-socket", agent.adminSocket]
            )
            #expect(result.status == 1, "\(arguments): \(result.output)")
            #expect(result.standardError.contains("chaos.enabled"), "\(result.output)")
        }
        try await server.stop()
    }

    @Test("add prints the id; list, upstreams and top show the fault; clear removes it; each is logged")
    func addListClear() async throws {
        let server = try await TestHTTPServer.start()
        let agent = try await AgentProcess.start(
            yaml: """
                chaos: { enabled: true }
                upstreams:
                  web: { endpoints: ["\(server.address)"], retry: { max_attempts: 1 } }
                """
        )
        let added = try await agent.levee(
            "fault",
            "add",
            "web",
            "--abort",
            "503",
            "--percent",
            "50",
            "--header",
            "x-chaos=yes",
            "--for",
            "2m"
        )
        #expect(added.status == 0, "\(added.output)")
        #expect(added.standardOutput == "f1\n")

        let listed = try await agent.levee("fault", "list", "--json")
        let faults = try #require(try Self.json(listed.standardOutput) as? [[String: Any]])
        let fault = try #require(faults.first)
        #expect(fault["id"] as? String == "f1")
        #expect(fault["upstream"] as? String == "web")
        #expect(fault["kind"] as? String == "abort")
        #expect(fault["http_status"] as? Int == 503)
        #expect(fault["percent"] as? Double == 50)
        #expect(fault["description"] as? String == "abort 503")
        #expect((fault["header"] as? [String: String]) == ["name": "x-chaos", "value": "yes"])
        #expect(fault["endpoint"] is NSNull)
        #expect(fault["duration_ms"] as? Int == 120_000)
        #expect((fault["remaining_ms"] as? Int ?? 0) > 0)
        #expect(fault["hits"] as? Int == 0)
        #expect(fault["source"] as? String == "cli")
        let table = try await agent.levee("fault", "list").standardOutput
        #expect(table.contains("ID") && table.contains("f1") && table.contains("x-chaos=yes"), "\(table)")

        let upstreams = try #require(
            try Self.json(try await agent.levee("upstreams", "--json").standardOutput) as? [[String: Any]]
        )
        let web = try #require(upstreams.first { $0["name"] as? String == "web" })
        #expect((web["faults"] as? [[String: Any]])?.first?["id"] as? String == "f1")
        #expect(try await agent.levee("upstreams").standardOutput.contains("abort 503"))
        let top = try await agent.levee("top", "--once").standardOutput
        #expect(top.split(separator: "\n").contains { $0.contains(" web ") && $0.contains("faults=f1") }, "\(top)")

        // A short fault expires by itself, with a log line, without any traffic.
        let short = try await agent.levee("fault", "add", "web", "--delay", "100ms", "--for", "300ms")
        #expect(short.standardOutput == "f2\n", "\(short.output)")
        let expired = try await eventually(within: .seconds(10)) { agent.standardError.contains("fault f2 expired") }
        #expect(expired, "\(agent.standardError)")

        let cleared = try await agent.levee("fault", "clear", "f1")
        #expect(cleared.standardOutput == "cleared f1\n", "\(cleared.output)")
        #expect(agent.standardError.contains("fault f1 added"))
        #expect(agent.standardError.contains("fault f1 cleared"))
        let unknown = try await agent.levee("fault", "clear", "f1")
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("f1"))
        let empty = try await agent.levee("fault", "clear", "--all", "--json")
        #expect((try Self.json(empty.standardOutput) as? [String: [String]]) == ["cleared": []])
        try await server.stop()
    }

    @Test("Bad flags are refused before the agent is asked, naming the flag")
    func badFlags() async throws {
        let agent = try await AgentProcess.start(
            yaml: "chaos: { enabled: true }\nupstreams:\n  web: { endpoints: [\"127.0.0.1:9\"] }"
        )
        for (arguments, flag) in [
            (["fault", "add", "web"], "--abort"), (["fault", "add", "web", "--abort", "500", "--reset"], "--reset"),
            (["fault", "add", "web", "--abort", "700"], "--abort"),
            (["fault", "add", "web", "--reset", "--percent", "0"], "--percent"),
            (["fault", "add", "web", "--reset", "--for", "soon"], "--for"),
            (["fault", "add", "web", "--reset", "--header", "x"], "--header"),
            (["fault", "add", "grpc?", "--reset"], "upstream"),
        ] {
            let result = try await agent.levee(arguments[0], Array(arguments.dropFirst()))
            #expect(result.status != 0, "\(arguments)")
            #expect(result.standardError.contains(flag), "\(arguments): \(result.standardError)")
        }
    }

    @Test("A restart clears the faults")
    func restartClears() async throws {
        let server = try await TestHTTPServer.start()
        let (directory, config, socket, admin) = try AgentProcess.makeConfig(
            "chaos: { enabled: true }\nupstreams:\n  web: { endpoints: [\"\(server.address)\"] }"
        )
        let first = try await AgentProcess.start(directory: directory, config: config, socket: socket, admin: admin)
        #expect(try await first.levee("fault", "add", "web", "--reset").standardOutput == "f1\n")
        first.signal(SIGTERM)
        #expect(await first.waitForExit(within: .seconds(20)) != nil)
        let second = try await AgentProcess.start(directory: directory, config: config, socket: socket, admin: admin)
        let listed = try await second.levee("fault", "list", "--json")
        #expect((try Self.json(listed.standardOutput) as? [Any])?.isEmpty == true, "\(listed.output)")
        // The first agent's folder is the second's: keep it until the end.
        withExtendedLifetime(first) {}
        try await server.stop()
    }
}

extension AgentProcess {
    /// `levee` with `first` and `rest` as its arguments, against this agent.
    func levee(_ first: String, _ rest: [String]) async throws -> ChildProcess.Result {
        try await ChildProcess.run(
            CommandRunner.leveeExecutable(),
            [first] + rest + ["--socket", socket, "--admin-socket", adminSocket]
        )
    }
}
