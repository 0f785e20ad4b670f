import Foundation
import LeveeTestKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `levee agent` run as a child process, on sockets in a fresh temporary folder: the agent as an
/// operator runs it. Killed when released, whatever the test did.
final class AgentProcess: Sendable {
    let directory: String
    let configPath: String
    let socket: String
    let adminSocket: String
    private let child: RunningChild

    /// A short folder (a socket path must stay under 108 bytes) holding `levee.yaml`, with the
    /// sockets under `run/` (which the agent creates).
    static func makeConfig(_ yaml: String) throws -> (directory: String, config: String, socket: String, admin: String)
    {
        let directory = "/tmp/levee-cmd-\(UInt32.random(in: .min ... .max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let socket = "\(directory)/run/levee.sock"
        let admin = "\(directory)/run/admin.sock"
        let config = "\(directory)/levee.yaml"
        try """
        listen:
          socket: \(socket)
          admin_socket: \(admin)
          http: 127.0.0.1:0
          proxy: off
        \(yaml)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return (directory, config, socket, admin)
    }

    private init(
        directory: String,
        configPath: String,
        socket: String,
        adminSocket: String,
        child: RunningChild
    ) {
        self.directory = directory
        self.configPath = configPath
        self.socket = socket
        self.adminSocket = adminSocket
        self.child = child
    }

    /// Starts `levee agent --config FILE` and waits (bounded poll) until both sockets answer.
    static func start(
        yaml: String,
        arguments: [String] = [],
        readyTimeout: Duration = .seconds(20)
    ) async throws -> AgentProcess {
        let (directory, config, socket, admin) = try makeConfig(yaml)
        return try await start(
            directory: directory,
            config: config,
            socket: socket,
            admin: admin,
            arguments: arguments,
            readyTimeout: readyTimeout
        )
    }

    static func start(
        directory: String,
        config: String,
        socket: String,
        admin: String,
        arguments: [String] = [],
        readyTimeout: Duration = .seconds(20)
    ) async throws -> AgentProcess {
        let child = try RunningChild.start(
            try CommandRunner.leveeExecutable(),
            ["agent", "--config", config, "--log-level", "notice"] + arguments,
            stem: "agent"
        )
        let agent = AgentProcess(
            directory: directory,
            configPath: config,
            socket: socket,
            adminSocket: admin,
            child: child
        )
        let ready = try await eventually(within: readyTimeout, every: .milliseconds(20)) {
            (isAnswering(socket) && isAnswering(admin)) || child.exit != nil
        }
        if ready && child.exit == nil { return agent }
        throw ChildProcess.Failure(
            description: "levee agent did not start within \(readyTimeout): \(agent.standardError)"
        )
    }

    deinit {
        child.signal(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func signal(_ signal: Int32) {
        child.signal(signal)
    }

    var exit: Int32? { child.exit }

    var standardError: String { child.standardError }

    func httpAddress(within timeout: Duration = .seconds(10)) async throws -> String {
        try await loggedAddress("http", within: timeout)
    }

    /// The `host:port` the agent's start line names for `key` (`http`, `proxy`).
    func loggedAddress(_ key: String, within timeout: Duration = .seconds(10)) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            let log = standardError
            for marker in [" \(key)=", "\"\(key)\":\""] {
                if let range = log.range(of: marker) {
                    let address = log[range.upperBound...].prefix { !" \"\n,}".contains($0) }
                    if !address.isEmpty { return String(address) }
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ChildProcess.Failure(description: "the agent did not log its \(key) address: \(standardError)")
    }

    /// Polls until the agent has exited, at most `timeout`; its status, or nil when still running.
    func waitForExit(within timeout: Duration) async -> Int32? {
        await child.waitForExit(within: timeout)
    }

    func levee(_ arguments: String...) async throws -> ChildProcess.Result {
        try await ChildProcess.run(
            CommandRunner.leveeExecutable(),
            arguments + ["--socket", socket, "--admin-socket", adminSocket]
        )
    }

    /// Whether something accepts connections on the Unix socket at `path` (a local connect does not block).
    static func isAnswering(_ path: String) -> Bool {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}
