import ArgumentParser
import Foundation
import LeveeAgent
import LeveeConfiguration
import Logging

/// `levee agent`: the sidecar itself.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent: guarded outbound calls for the apps on this host.",
        discussion: """
            With no --config it runs on built-in defaults: the sockets in $XDG_RUNTIME_DIR/levee/ \
            (or /tmp/levee-$UID/), default policies, and upstreams named host:port accepted on the fly. \
            SIGTERM or SIGINT stops accepting, lets calls in flight finish (--drain-timeout), and \
            removes the sockets. SIGHUP re-reads the --config file, as `levee reload` does.
            """
    )

    @Option(name: .shortAndLong, help: "The YAML configuration file.")
    var config: String?

    @Option(help: "Override listen.socket: the Guard API socket (mode 0660).")
    var socket: String?

    @Option(name: .customLong("admin-socket"), help: "Override listen.admin_socket: the admin socket (mode 0600).")
    var adminSocket: String?

    @Option(
        name: .customLong("http"),
        help: "Override listen.http: HOST:PORT of the /metrics, /healthz and /readyz listener, or off."
    )
    var http: String?

    @Option(
        name: .customLong("proxy"),
        help: "Override listen.proxy: HOST:PORT of the plain HTTP proxy listener, or off."
    )
    var proxy: String?

    @Option(
        name: .customLong("gossip-advertise"),
        help: """
            Override gossip.advertise: HOST:PORT peers reach this member at (in a pod: \
            --gossip-advertise=$(POD_IP):7946, the pod IP from the downward API).
            """
    )
    var gossipAdvertise: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-format"), help: "text, or json (one object per line) for log shippers.")
    var logFormat: String = "text"

    @Option(name: .customLong("drain-timeout"), help: "Seconds to let calls in flight finish at shutdown.")
    var drainTimeout: Double = 10

    /// A `HOST:PORT|off` flag's value: nil when not given, `.some(nil)` for off.
    private static func addressOverride(_ value: String?, flag: String, example: String) throws -> String?? {
        guard let value else { return nil }
        if value == "off" { return .some(nil) }
        guard EndpointAddress.parse(Substring(value), portRange: 0...65535) != nil else {
            throw ValidationError("\(flag): expected HOST:PORT (such as \(example)), or off")
        }
        return .some(value)
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level: expected trace, debug, info, notice, warning, error or critical")
        }
        guard logFormat == "text" || logFormat == "json" else {
            throw ValidationError("--log-format: expected text or json")
        }
        let httpOverride = try Self.addressOverride(http, flag: "--http", example: ListenConfiguration.defaultHTTP)
        let proxyOverride = try Self.addressOverride(proxy, flag: "--proxy", example: ListenConfiguration.defaultProxy)
        if let gossipAdvertise, EndpointAddress.parse(Substring(gossipAdvertise), portRange: 1...65535) == nil {
            throw ValidationError("--gossip-advertise: expected HOST:PORT (such as 10.0.0.7:7946)")
        }
        let environment = ProcessInfo.processInfo.environment
        let uid = getuid()
        // The command line wins over the file, at start and at every reload alike: a reload must not
        // report the file's sockets while the agent listens on the ones given here.
        let (socket, adminSocket, gossipAdvertise) = (socket, adminSocket, gossipAdvertise)
        let overridden: @Sendable (AgentConfiguration) -> AgentConfiguration = { loaded in
            var configuration = loaded
            if let socket { configuration.listen.socket = socket }
            if let adminSocket { configuration.listen.adminSocket = adminSocket }
            if let httpOverride { configuration.listen.http = httpOverride }
            if let proxyOverride { configuration.listen.proxy = proxyOverride }
            // One ConfigMap serves every pod; each pod's own address comes from the command line.
            if let gossipAdvertise { configuration.gossip?.advertise = gossipAdvertise }
            return configuration
        }
        let load: @Sendable (String) throws -> AgentConfiguration = { path in
            overridden(try AgentConfiguration.load(contentsOf: path, environment: environment, uid: uid))
        }
        let configuration: AgentConfiguration
        do {
            configuration =
                try config.map(load) ?? overridden(AgentConfiguration.builtIn(environment: environment, uid: uid))
        } catch {
            FileHandle.standardError.write(Data("levee agent: invalid configuration: \(error)\n".utf8))
            throw ExitCode(2)
        }

        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "levee")
        let agent: Agent
        do {
            agent = try await Agent(
                configuration: configuration,
                version: LeveeVersion.current,
                logger: logger,
                drainTimeout: .milliseconds(Int64(drainTimeout * 1000)),
                load: load
            )
        } catch {
            FileHandle.standardError.write(Data("levee agent: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try await agent.run()
    }
}
