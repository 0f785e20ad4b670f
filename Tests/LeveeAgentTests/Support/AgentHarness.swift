import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeTestKit
import Logging
import Testing

/// A real agent, in this process, on Unix sockets in a fresh temporary folder, with gRPC clients of
/// its Guard and Admin APIs: what an app and an operator would see.
struct AgentHarness: Sendable {
    let configuration: AgentConfiguration
    let agent: Agent
    let guardClient: Levee_V1_Guard.Client<HTTP2ClientTransport.Posix>
    let admin: Levee_V1_Admin.Client<HTTP2ClientTransport.Posix>

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A short temporary folder: a Unix socket path must stay under 108 bytes.
    static func makeDirectory() throws -> String {
        let path = "/tmp/levee-test-\(UInt32.random(in: .min ... .max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Replaces the agent's configuration file with `yaml` under the `listen` section it runs on, so
    /// that the next reload reads `yaml`'s upstreams and sees no change of sockets.
    /// `listen` adds keys to the `listen` section (indented by two spaces), such as `allow: {uids: [0]}`.
    func rewriteFile(_ yaml: String, listen extra: String = "") throws {
        let listen = configuration.listen
        let file = try #require(configuration.sourcePath)
        let proxySocket = listen.proxySocket.map { "\n  proxy_socket: \($0)" } ?? ""
        try """
        listen:
          socket: \(listen.socket)
          admin_socket: \(listen.adminSocket)
          http: \(listen.http ?? "off")
          proxy: \(listen.proxy ?? "off")\(proxySocket)
          guard_server: \(listen.guardServer.rawValue)\(extra.isEmpty ? "" : "\n  \(extra)")
        \(yaml)
        """.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// The Guard server the agents run unless a test says (`LEVEE_TEST_GUARD_SERVER`: `core` or
    /// `grpc_swift`; unset: the agent's default), so that the whole suite can run against either.
    static let defaultGuardServer = ProcessInfo.processInfo.environment["LEVEE_TEST_GUARD_SERVER"]

    /// Runs `body` against an agent configured by `yaml` (its `listen` section is supplied here). The
    /// HTTP listener takes an ephemeral port unless `http` says otherwise, so that many agents can run
    /// at once; the proxy listener is off unless `proxy` (`127.0.0.1:0`: an ephemeral port) or
    /// `proxySocket` (a file in the agent's folder) asks for it. `listen` adds lines to the `listen`
    /// section, such as `max_request_body: 1KiB`.
    static func withAgent<R: Sendable>(
        yaml: String,
        http: String = "127.0.0.1:0",
        proxy: String = "off",
        proxySocket: Bool = false,
        listen extra: [String] = [],
        _ body: (AgentHarness) async throws -> R
    ) async throws -> R {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var extra = extra
        if let kind = defaultGuardServer, !extra.contains(where: { $0.hasPrefix("guard_server:") }) {
            extra.append("guard_server: \(kind)")
        }
        let document = """
            listen:
              socket: \(directory)/levee.sock
              admin_socket: \(directory)/admin.sock
              http: \(http)
              proxy: \(proxy)\(proxySocket ? "\n  proxy_socket: \(directory)/proxy.sock" : "")\(extra.map { "\n  \($0)" }.joined())
            \(yaml)
            """
        let file = "\(directory)/levee.yaml"
        try document.write(toFile: file, atomically: true, encoding: .utf8)
        let environment = ProcessInfo.processInfo.environment
        let uid = getuid()
        let configuration = try AgentConfiguration.load(contentsOf: file, environment: environment, uid: uid)
        var logger = Logger(label: "levee-test")
        logger.logLevel =
            ProcessInfo.processInfo.environment["LEVEE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let agent = try await Agent(
            configuration: configuration,
            version: "test",
            logger: logger,
            drainTimeout: .seconds(2),
            handlesSignals: false
        ) { path in
            try AgentConfiguration.load(contentsOf: path, environment: environment, uid: uid)
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await agent.run() }
            // The agent drains as on SIGTERM, never cancelled: see `Agent.shutdown()`.
            let outcome: Result<R, any Error>
            do {
                outcome = .success(try await withClients(of: configuration, agent: agent, body))
            } catch {
                outcome = .failure(error)
            }
            agent.shutdown()
            try await group.waitForAll()
            return try outcome.get()
        }
    }

    /// Runs `body` with gRPC clients of the agent's Guard and Admin sockets.
    private static func withClients<R: Sendable>(
        of configuration: AgentConfiguration,
        agent: Agent,
        _ body: (AgentHarness) async throws -> R
    ) async throws -> R {
        try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .unixDomainSocket(path: configuration.listen.socket),
                transportSecurity: .plaintext
            )
        ) { guardConnection in
            try await withGRPCClient(
                transport: .http2NIOPosix(
                    target: .unixDomainSocket(path: configuration.listen.adminSocket),
                    transportSecurity: .plaintext
                )
            ) { adminConnection in
                let harness = AgentHarness(
                    configuration: configuration,
                    agent: agent,
                    guardClient: Levee_V1_Guard.Client(wrapping: guardConnection),
                    admin: Levee_V1_Admin.Client(wrapping: adminConnection)
                )
                return try await body(harness)
            }
        }
    }

    // MARK: Calls

    /// An HTTP call through the Guard API.
    func call(
        _ upstream: String,
        _ method: String = "GET",
        _ path: String = "/",
        body: String = "",
        timeoutMs: UInt32 = 0,
        priority: Levee_V1_Priority = .normal,
        idempotencyKey: String = ""
    ) async throws -> Levee_V1_CallResponse {
        var http = Levee_V1_HttpRequest()
        http.method = method
        http.path = path
        http.body = Data(body.utf8)
        var request = Levee_V1_CallRequest()
        request.upstream = upstream
        request.http = http
        request.timeoutMs = timeoutMs
        request.priority = priority
        request.idempotencyKey = idempotencyKey
        return try await guardClient.call(request)
    }

    func upstream(_ name: String) async throws -> Levee_V1_UpstreamInfo {
        var request = Levee_V1_ListUpstreamsRequest()
        request.name = name
        guard let info = try await admin.listUpstreams(request).upstreams.first else {
            throw Failure(description: "no upstream \(name)")
        }
        return info
    }

    func breaker(_ name: String) async throws -> Levee_V1_BreakerState {
        try await upstream(name).breaker.state
    }

    /// An operator's breaker override through the Admin API.
    func setBreaker(_ upstream: String, _ action: Levee_V1_BreakerAction) async throws {
        var request = Levee_V1_SetBreakerRequest()
        request.upstream = upstream
        request.action = action
        _ = try await admin.setBreaker(request)
    }
}

/// LeveeTestKit's `eventually` that fails the test, naming `what` it waited for, on timeout.
func eventually(
    _ what: String,
    timeout: Duration = .seconds(10),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    if try await LeveeTestKit.eventually(within: timeout, condition) { return }
    Issue.record("timed out after \(timeout) waiting until \(what)", sourceLocation: sourceLocation)
    throw AgentHarness.Failure(description: "timed out waiting until \(what)")
}
