import Foundation
import LeveeTestKit
import NIOCore
import NIOPosix
import Testing

/// A real `serf agent` (Debian package `serf`, serf 0.9.4) run as a child process on loopback, for
/// interop tests: started on free ports, ready once `serf members` answers, killed on teardown.
///
/// Use it through `withSerfAgent(name:encryptKey:_:)`, which stops the agent however the body ends.
struct SerfAgent: Sendable {
    /// The agent's `-node` name.
    let name: String
    /// Its memberlist port, UDP and TCP (`-bind`).
    let bindAddress: SocketAddress
    /// Its RPC address (`-rpc-addr`) for the `serf` CLI.
    let rpcAddress: String
    let process: Process
    /// The agent's stdout and stderr, for failure messages.
    let logPath: String

    /// What `serf members -format=json` says about one member.
    struct Member: Sendable, Equatable {
        var name: String
        var address: String
        var status: String
        var tags: [String: String]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The `serf` binary: the `SERF` environment variable, else the first on `PATH`, else
    /// /usr/bin/serf. A missing binary is an error telling how to install it, never a skip.
    static func executablePath() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = environment["SERF"] { candidates.append(explicit) }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(directory)/serf")
        }
        candidates.append("/usr/bin/serf")
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            return found
        }
        throw Failure(
            description:
                "the `serf` binary is missing: install it with `apt-get install -y serf` (scripts/test does so)"
        )
    }

    /// Starts an agent on free loopback ports and waits (bounded poll) until its RPC answers.
    static func start(
        name: String,
        encryptKey: String? = nil,
        extraArguments: [String] = [],
        readyTimeout: Duration = .seconds(15)
    ) async throws
        -> SerfAgent
    {
        let executable = try executablePath()
        let bindPort = try await FreePort.both()
        let rpcPort = try await FreePort.tcp()
        let rpcAddress = "127.0.0.1:\(rpcPort)"
        var arguments = [
            "agent", "-node=\(name)", "-bind=127.0.0.1:\(bindPort)", "-rpc-addr=\(rpcAddress)",
            "-log-level=debug",
        ]
        if let encryptKey { arguments.append("-encrypt=\(encryptKey)") }
        arguments += extraArguments
        let logPath = NSTemporaryDirectory() + "serf-\(name)-\(bindPort)-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let agent = SerfAgent(
            name: name,
            bindAddress: try SocketAddress(ipAddress: "127.0.0.1", port: bindPort),
            rpcAddress: rpcAddress,
            process: process,
            logPath: logPath
        )
        let clock = ContinuousClock()
        let deadline = clock.now + readyTimeout
        while clock.now < deadline {
            guard process.isRunning else {
                throw Failure(description: "serf agent \(name) exited early:\n\(agent.log())")
            }
            if (try? await agent.cli(["members"])) != nil { return agent }
            try await Task.sleep(for: .milliseconds(100))
        }
        await agent.stop()
        throw Failure(description: "serf agent \(name) did not answer RPC within \(readyTimeout):\n\(agent.log())")
    }

    /// Kills the agent and waits for it to exit; a stopped (SIGSTOP) agent is continued first so that
    /// it can take the signal. The wait is a bounded poll that gives the thread back between looks
    /// (`waitUntilExit()` would hold one of the two cooperative threads and starve the node under test).
    func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        process.terminate()
        if await !waitForExit(within: .seconds(5)) {
            kill(process.processIdentifier, SIGKILL)
            _ = await waitForExit(within: .seconds(5))
        }
    }

    /// Sends `signal` to the agent process: SIGSTOP freezes it (a timing failure), SIGCONT resumes it,
    /// SIGKILL crashes it (reference test-network.md); after SIGKILL it waits for the exit.
    func signal(_ signal: Int32) async {
        kill(process.processIdentifier, signal)
        if signal == SIGKILL { _ = await waitForExit(within: .seconds(5)) }
    }

    /// Polls until the agent process has exited, at most `timeout`; true when it has.
    private func waitForExit(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !process.isRunning
    }

    /// `serf event [-coalesce=false] NAME PAYLOAD`.
    func sendEvent(_ name: String, payload: String, coalesce: Bool = false) async throws {
        try await cli(["event", "-coalesce=\(coalesce)", name, payload])
    }

    /// `serf query -timeout=… NAME PAYLOAD`; returns its output ("Ack from 'x'", "Response from 'x': …").
    func query(_ name: String, payload: String, timeout: Duration = .seconds(3)) async throws -> String {
        try await cli(["query", "-timeout=\(timeout.components.seconds)s", name, payload])
    }

    /// `serf reachability`: throws when some live member did not ack `_serf_ping`.
    @discardableResult
    func reachability() async throws -> String {
        try await cli(["reachability"])
    }

    /// `serf join ADDRESS`.
    func join(_ address: String) async throws {
        try await cli(["join", address])
    }

    /// `serf leave`: the agent leaves gracefully and exits.
    func leave() async throws {
        try await cli(["leave"])
    }

    /// The agent's output so far.
    func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)"
    }

    /// Runs `serf SUBCOMMAND -rpc-addr=… ARGS…` and returns its output; throws on a non-zero exit. The
    /// wait does not hold a thread (`ChildProcess`), so the node under test keeps running meanwhile.
    @discardableResult
    func cli(_ arguments: [String]) async throws -> String {
        // Go's flag package stops at the first positional argument: the flag goes right after the
        // subcommand.
        let full = Array(arguments.prefix(1)) + ["-rpc-addr=\(rpcAddress)"] + arguments.dropFirst()
        let result = try await ChildProcess.run(try Self.executablePath(), full)
        guard result.status == 0 else {
            throw Failure(description: "serf \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
        return result.output
    }

    /// `serf members -format=json`.
    func members() async throws -> [Member] {
        let text = try await cli(["members", "-format=json"])
        guard
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let list = object["members"] as? [[String: Any]]
        else {
            throw Failure(description: "unexpected `serf members -format=json` output: \(text)")
        }
        return list.map { entry in
            Member(
                name: entry["name"] as? String ?? "",
                address: entry["addr"] as? String ?? "",
                status: entry["status"] as? String ?? "",
                tags: entry["tags"] as? [String: String] ?? [:]
            )
        }
    }

    /// Polls `serf members` until `condition` holds for the member `name`, at most `timeout`.
    func waitForMember(
        _ name: String,
        timeout: Duration = .seconds(10),
        where condition: (Member) -> Bool
    ) async throws -> Member {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last: [Member] = []
        while clock.now < deadline {
            last = try await members()
            if let member = last.first(where: { $0.name == name }), condition(member) { return member }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "member \(name) not as expected within \(timeout); members: \(last)\n\(log())")
    }
}

/// Runs `body` with a fresh agent and stops the agent afterwards, whatever happens.
func withSerfAgent<Result>(
    name: String,
    encryptKey: String? = nil,
    extraArguments: [String] = [],
    _ body: (SerfAgent) async throws -> Result
) async throws -> Result {
    let agent = try await SerfAgent.start(name: name, encryptKey: encryptKey, extraArguments: extraArguments)
    do {
        let result = try await body(agent)
        await agent.stop()
        return result
    } catch {
        await agent.stop()
        Issue.record("serf agent \(agent.name) log:\n\(agent.log())")
        throw error
    }
}

/// Free loopback ports, found by binding port 0 and closing again.
enum FreePort {
    /// A port free for both UDP and TCP, as a memberlist member needs.
    static func both() async throws -> Int {
        for _ in 0..<32 {
            let udp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0).get()
            let port = udp.localAddress?.port ?? 0
            let tcp = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port).get()
            try await udp.close()
            if let tcp {
                try await tcp.close()
                return port
            }
        }
        throw SerfAgent.Failure(description: "no port free for both UDP and TCP on 127.0.0.1")
    }

    /// A port free for TCP.
    static func tcp() async throws -> Int {
        let tcp = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = tcp.localAddress?.port ?? 0
        try await tcp.close()
        return port
    }
}
