import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real `serf agent` (Debian package `serf`, serf 0.9.4) run as a child process on loopback, for
/// interop tests: started on free ports, ready once `serf members` answers, killed on teardown.
///
/// Use it through `SerfAgent.with(name:encryptKey:extraArguments:onFailure:_:)` (or a test target's
/// `withSerfAgent` wrapper around it), which stops the agent however the body ends.
public struct SerfAgent: Sendable {
    /// The agent's `-node` name.
    public let name: String
    /// Its memberlist port on 127.0.0.1, UDP and TCP (`-bind`).
    public let bindPort: Int
    /// Its RPC address (`-rpc-addr`) for the `serf` CLI.
    public let rpcAddress: String
    /// The running `serf agent` process; its stdout and stderr are its log, for failure messages.
    let child: RunningChild

    /// Where the agent's log goes.
    public var logPath: String { child.outputPath }

    /// `127.0.0.1:PORT` of its memberlist sockets, for a join.
    public var bindAddress: String { "127.0.0.1:\(bindPort)" }

    /// What `serf members -format=json` says about one member.
    public struct Member: Sendable, Equatable {
        public var name: String
        public var address: String
        public var status: String
        public var tags: [String: String]
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The `serf` binary: the `SERF` environment variable, else the first on `PATH`, else
    /// /usr/bin/serf. A missing binary is an error telling how to install it, never a skip.
    public static func executablePath() throws -> String {
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
    public static func start(
        name: String,
        encryptKey: String? = nil,
        extraArguments: [String] = [],
        readyTimeout: Duration = .seconds(15)
    ) async throws -> SerfAgent {
        let executable = try executablePath()
        let bindPort = try FreePort.both()
        let rpcPort = try FreePort.tcp()
        let rpcAddress = "127.0.0.1:\(rpcPort)"
        var arguments = [
            "agent", "-node=\(name)", "-bind=127.0.0.1:\(bindPort)", "-rpc-addr=\(rpcAddress)",
            "-log-level=debug",
        ]
        if let encryptKey { arguments.append("-encrypt=\(encryptKey)") }
        arguments += extraArguments
        let child = try RunningChild.start(executable, arguments, stem: "serf-\(name)", mergeOutput: true)
        let agent = SerfAgent(name: name, bindPort: bindPort, rpcAddress: rpcAddress, child: child)
        let answered = try await eventually(within: readyTimeout, every: .milliseconds(100)) {
            guard child.exit == nil else {
                throw Failure(description: "serf agent \(name) exited early:\n\(agent.log())")
            }
            return (try? await agent.cli(["members"])) != nil
        }
        if answered { return agent }
        await agent.stop()
        throw Failure(description: "serf agent \(name) did not answer RPC within \(readyTimeout):\n\(agent.log())")
    }

    /// Runs `body` with a fresh agent and stops the agent afterwards, whatever happens; when `body`
    /// throws, `onFailure` gets the agent first (to record its log) and the error is rethrown.
    public static func with<Result>(
        name: String,
        encryptKey: String? = nil,
        extraArguments: [String] = [],
        onFailure: (SerfAgent) -> Void = { _ in },
        _ body: (SerfAgent) async throws -> Result
    ) async throws -> Result {
        let agent = try await start(name: name, encryptKey: encryptKey, extraArguments: extraArguments)
        do {
            let result = try await body(agent)
            await agent.stop()
            return result
        } catch {
            await agent.stop()
            onFailure(agent)
            throw error
        }
    }

    /// Kills the agent and waits for it to exit; a stopped (SIGSTOP) agent is continued first so that
    /// it can take the signal. The wait is a bounded poll that gives the thread back between looks
    /// (`waitUntilExit()` would hold one of the two cooperative threads and starve the node under test).
    public func stop() async {
        await child.stop()
    }

    /// Sends `signal` to the agent process: SIGSTOP freezes it (a timing failure), SIGCONT resumes it,
    /// SIGKILL crashes it (reference test-network.md); after SIGKILL it waits for the exit.
    public func signal(_ signal: Int32) async {
        child.signal(signal)
        if signal == SIGKILL { _ = await child.waitForExit(within: .seconds(5)) }
    }

    /// `serf event [-coalesce=false] NAME PAYLOAD`.
    public func sendEvent(_ name: String, payload: String, coalesce: Bool = false) async throws {
        try await cli(["event", "-coalesce=\(coalesce)", name, payload])
    }

    /// `serf query -timeout=… NAME PAYLOAD`; returns its output ("Ack from 'x'", "Response from 'x': …").
    public func query(_ name: String, payload: String, timeout: Duration = .seconds(3)) async throws -> String {
        try await cli(["query", "-timeout=\(timeout.components.seconds)s", name, payload])
    }

    /// `serf reachability`: throws when some live member did not ack `_serf_ping`.
    @discardableResult
    public func reachability() async throws -> String {
        try await cli(["reachability"])
    }

    /// `serf join ADDRESS`.
    public func join(_ address: String) async throws {
        try await cli(["join", address])
    }

    /// `serf leave`: the agent leaves gracefully and exits.
    public func leave() async throws {
        try await cli(["leave"])
    }

    /// The agent's output so far.
    public func log() -> String {
        child.standardOutput
    }

    /// Runs `serf SUBCOMMAND -rpc-addr=… ARGS…` and returns its output; throws on a non-zero exit. The
    /// wait does not hold a thread (`ChildProcess`), so the node under test keeps running meanwhile.
    @discardableResult
    public func cli(_ arguments: [String]) async throws -> String {
        // Go's flag package stops at the first positional argument: the flag goes right after the
        // subcommand.
        let full = Array(arguments.prefix(1)) + ["-rpc-addr=\(rpcAddress)"] + arguments.dropFirst()
        let result = try await ChildProcess.run(try Self.executablePath(), full, timeout: .seconds(20))
        guard result.status == 0 else {
            throw Failure(description: "serf \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
        return result.output
    }

    /// `serf members -format=json`.
    public func members() async throws -> [Member] {
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
    public func waitForMember(
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

/// Free loopback ports, found by binding port 0 and closing again (a child process takes them next;
/// another process could in between, which loopback tests accept).
public enum FreePort {
    /// A port on 127.0.0.1 free for both UDP and TCP, as a memberlist member needs.
    public static func both() throws -> Int {
        for _ in 0..<32 {
            let udp = try LoopbackSocket(.udp, port: 0)
            if (try? LoopbackSocket(.tcp, port: udp.port)) != nil { return udp.port }
        }
        throw ChildProcess.Failure(description: "no port free for both UDP and TCP on 127.0.0.1")
    }

    /// A port on 127.0.0.1 free for TCP.
    public static func tcp() throws -> Int {
        try LoopbackSocket(.tcp, port: 0).port
    }
}

/// A socket bound on 127.0.0.1 (a TCP one also listens, holding the port as a server does); closed
/// when released.
public final class LoopbackSocket {
    public enum Kind: Sendable { case tcp, udp }

    /// The bound port.
    public let port: Int
    private let descriptor: Int32

    /// Binds a socket of `kind` to 127.0.0.1:`port` (0: any free port).
    public init(_ kind: Kind, port: Int) throws {
        #if canImport(Glibc)
        let type = Int32(kind == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue)
        #else
        let type = kind == .tcp ? SOCK_STREAM : SOCK_DGRAM
        #endif
        let descriptor = socket(AF_INET, type, 0)
        guard descriptor >= 0 else { throw ChildProcess.Failure(description: "socket(): errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound, kind == .udp || listen(descriptor, 1) == 0 else {
            let code = errno
            close(descriptor)
            throw ChildProcess.Failure(description: "bind(127.0.0.1:\(port)): errno \(code)")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
