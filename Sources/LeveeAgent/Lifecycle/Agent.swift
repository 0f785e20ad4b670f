import GRPCCore
import GRPCNIOTransportHTTP2
import Glibc
import LeveeClock
public import LeveeConfiguration
import LeveeGossipNIO
public import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The agent: the Guard server on the app socket, the HTTP proxy listener, the Admin server on the
/// admin socket, the upstream runtimes, their housekeeping and active health checks, and the HTTP
/// listener for metrics and probes, as services of one `ServiceGroup`.
///
/// Everything that can fail at start — the configuration, the sockets, the HTTP port — fails in
/// `init`, before any service runs: the agent never half-starts. On SIGTERM or SIGINT `/readyz` turns
/// 503, the servers stop accepting, calls in flight finish (up to `drainTimeout`), the sockets are
/// removed, then the outbound connections close, and the HTTP listener last. On SIGHUP it reloads its
/// configuration file (``Reloader``).
public struct Agent: Sendable {
    public let configuration: AgentConfiguration
    public let registry: UpstreamRegistry
    /// The agent's gossip pool member, when the configuration has a `gossip` section.
    public let gossip: AgentGossip?
    /// The agent's metrics (its own Prometheus registry).
    public let metrics: AgentMetrics
    /// The chaos faults injected into this agent's attempts (`levee fault`); in memory only.
    public let faults: FaultTable
    /// `host:port` of the HTTP listener, with the real port when `listen.http` asked for port 0; nil
    /// when it is off.
    public let httpAddress: String?
    /// `host:port` of the HTTP proxy listener, with the real port when `listen.proxy` asked for port
    /// 0; nil when it is off.
    public let proxyAddress: String?
    private let readiness: Readiness
    private let guardSocket: UnixListeningSocket
    private let adminSocket: UnixListeningSocket
    private let services: [any Service]
    private let reloader: Reloader
    private let logger: Logger
    private let drainTimeout: Duration
    private let handlesSignals: Bool
    /// ``shutdown()``'s requests, heard by ``run()``.
    private let shutdownRequests = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    /// The modes of the two sockets: the app's group may call, only the owner may administer.
    public static let appSocketMode: UInt32 = 0o660
    public static let adminSocketMode: UInt32 = 0o600

    public init(
        configuration: AgentConfiguration,
        version: String,
        logger: Logger,
        drainTimeout: Duration = .seconds(10),
        handlesSignals: Bool = true,
        load: @escaping @Sendable (String) throws -> AgentConfiguration
    ) async throws {
        let clock = MonotonicClock()
        let runner = GRPCClientRunner()
        let metrics = AgentMetrics()
        let readiness = Readiness()
        let faults = FaultTable(configuration: configuration, clock: clock, logger: logger, metrics: metrics)
        let registry = try UpstreamRegistry(
            configuration: configuration,
            clock: clock,
            logger: logger,
            clientRunner: runner,
            metrics: metrics,
            faults: faults
        )
        let experiments = ExperimentRunner(
            target: AgentChaosTarget(registry: registry, faults: faults),
            clock: clock,
            logger: logger
        )
        let gossip = try configuration.gossip.map { settings in
            try AgentGossip(
                settings: settings,
                service: configuration.service,
                version: version,
                registry: registry,
                clock: clock,
                logger: logger,
                experiments: experiments
            )
        }
        // Who may connect, read at each connection from the configuration in force (a reload changes it).
        let agentUID = getuid()
        func gate(
            _ socket: String,
            _ list: @escaping @Sendable (ListenConfiguration) -> PeerAllowList?
        )
            -> PeerCredentialGate
        {
            PeerCredentialGate(socket: socket, metrics: metrics, logger: logger, clock: clock) { [registry] in
                list(registry.configuration.listen)
            }
        }
        let appAllowList: @Sendable (ListenConfiguration) -> PeerAllowList? = { $0.allow }
        // What callers control is bounded per listener (`listen.max_*`, `listen.*_timeout`).
        func limits(_ socket: String) -> ListenerLimitState {
            ListenerLimitState(socket: socket, limits: configuration.listen.limits, metrics: metrics, logger: logger)
        }
        let guardSocket = try UnixListeningSocket.bind(path: configuration.listen.socket, mode: Self.appSocketMode)
        let adminSocket: UnixListeningSocket
        do {
            adminSocket = try UnixListeningSocket.bind(
                path: configuration.listen.adminSocket,
                mode: Self.adminSocketMode
            )
        } catch {
            guardSocket.abandon()
            throw error
        }
        var httpListener: HTTPListener?
        if let http = configuration.listen.http {
            do {
                guard let address = EndpointAddress.parse(Substring(http), portRange: 0...65535) else {
                    throw HTTPListenerError(address: http, reason: "not a host:port")
                }
                let routes = HTTPRoutes(
                    metrics: metrics,
                    registry: registry,
                    gossip: gossip?.node,
                    readiness: readiness
                )
                httpListener = try await HTTPListener.bind(
                    http,
                    host: address.host,
                    port: address.port,
                    limits: limits("http")
                ) {
                    method,
                    path in
                    routes.answer(method, path)
                }
            } catch {
                guardSocket.abandon()
                adminSocket.abandon()
                throw error
            }
        }
        let proxyListener: ProxyListener?
        do {
            proxyListener = try await ProxyListener.bind(
                configuration.listen,
                registry: registry,
                gate: gate("proxy", appAllowList),
                limits: limits("proxy")
            )
        } catch {
            guardSocket.abandon()
            adminSocket.abandon()
            httpListener?.close()
            throw error
        }

        let guardService = GuardService(registry: registry, clock: clock)
        let guardServer: any Service
        let handlerExecutor = EventLoopTaskExecutor(group: MultiThreadedEventLoopGroup.singleton)
        switch configuration.listen.guardServer {
        case .grpcSwift:
            guardServer = ServerService(
                server: GRPCServer(
                    transport: .http2NIOPosix(
                        listeningSocketDescriptor: Int(guardSocket.descriptor),
                        transportSecurity: .plaintext,
                        config: Self.serverConfig(gate: gate("guard", appAllowList), limits: limits("guard"))
                    ),
                    services: [guardService]
                ),
                socket: guardSocket,
                logger: logger,
                handlerExecutor: handlerExecutor
            )
        case .core:
            guardServer = CoreGuardServer(
                service: guardService,
                socket: guardSocket,
                gate: gate("guard", appAllowList),
                limits: limits("guard"),
                logger: logger,
                drainTimeout: drainTimeout,
                handlerExecutor: handlerExecutor,
                group: MultiThreadedEventLoopGroup.singleton
            )
        }
        let notifier = SystemdNotifier.fromProcessEnvironment()
        let reloader = Reloader(registry: registry, logger: logger, notifier: notifier, load: load)
        let adminServer = GRPCServer(
            transport: .http2NIOPosix(
                listeningSocketDescriptor: Int(adminSocket.descriptor),
                transportSecurity: .plaintext,
                config: Self.serverConfig(
                    gate: gate("admin") { $0.adminAllow ?? .agentUserAndRoot(uid: agentUID) },
                    limits: limits("admin")
                )
            ),
            services: [
                AdminService(
                    registry: registry,
                    identity: AgentIdentity(version: version),
                    reloader: reloader,
                    gossip: gossip,
                    logger: logger,
                    httpAddress: httpListener?.address,
                    faults: faults
                ),
                ChaosService(runner: experiments, fleet: gossip?.fleet, agentName: gossip?.localName ?? ""),
            ]
        )
        self.configuration = configuration
        self.registry = registry
        self.guardSocket = guardSocket
        self.adminSocket = adminSocket
        self.logger = logger
        self.drainTimeout = drainTimeout
        self.handlesSignals = handlesSignals
        self.gossip = gossip
        self.reloader = reloader
        self.metrics = metrics
        self.faults = faults
        self.readiness = readiness
        httpAddress = httpListener?.address
        proxyAddress = proxyListener?.address
        // Shut down in reverse: `/readyz` turns 503, then admin, then guard (draining calls), then the
        // gossip member (leaving the pool), then health checks, then housekeeping, then the outbound
        // clients, and the HTTP listener last, so that probes see the drain.
        var services: [any Service] = []
        if let httpListener { services.append(httpListener) }
        services += [
            OutboundClientsService(runner: runner, registry: registry),
            HousekeepingService(registry: registry, clock: clock),
            FaultExpiryService(faults: faults, clock: clock),
            HealthCheckService(registry: registry, clock: clock),
        ]
        if let gossip { services.append(gossip) }
        if let proxyListener { services.append(proxyListener) }
        services += [
            guardServer,
            ServerService(server: adminServer, socket: adminSocket, logger: logger, handlerExecutor: nil),
            // Stops before the admin server drains: its runs end (clearing their faults) and so do the
            // RunExperiment streams the admin server would otherwise wait for.
            experiments,
        ]
        // Under systemd (`Type=notify`): READY=1, the watchdog, STOPPING=1 (``SystemdNotifier``).
        if let notifier { services.append(SystemdNotifyService(notifier: notifier)) }
        services.append(DrainNotice(readiness: readiness))
        self.services = services
    }

    /// The gRPC servers' transport: each connection is counted against `max_connections` and shown to
    /// `gate` before anything is read from it; it and each of its RPC streams are held to the
    /// listener's `limits` (``GRPCConnectionLimiter``).
    private static func serverConfig(
        gate: PeerCredentialGate,
        limits: ListenerLimitState
    ) -> HTTP2ServerTransport.Posix.Config {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
            guard limits.connections.admit(channel) else {
                limits.hit(.maxConnections)
                channel.close(promise: nil)
                return channel.eventLoop.makeFailedFuture(ListenerLimitError.tooManyConnections(socket: limits.socket))
            }
            do {
                try channel.pipeline.syncOperations.addHandler(GRPCConnectionLimiter(state: limits), position: .first)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            return gate.admit(channel)
        }
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
            stream.eventLoop.makeCompletedFuture {
                guard let parent = stream.parent else { return }
                let connection = try parent.pipeline.syncOperations.handler(type: GRPCConnectionLimiter.self)
                try stream.pipeline.syncOperations.addHandler(
                    GRPCStreamLimiter(connection: connection),
                    position: .first
                )
            }
        }
        config.rpc.maxRequestPayloadSize = limits.limits.maxMessageSize
        config.http2.maxConcurrentStreams = limits.limits.maxStreamsPerConnection
        // Answers are flushed at once. Coalescing (on by default) holds every flush for up to 100 µs,
        // and an app waiting on one call at a time pays all of it, plus the timer's wake-up.
        config.connection.flushCoalescing = nil
        return config
    }

    /// Asks ``run()`` to drain and stop, as SIGTERM does. Prefer it to cancelling the task that runs
    /// the agent: cancellation stops the servers at once, and SwiftNIO traps on a connection or stream
    /// it had accepted and no server task took (apple/swift-nio#3481); a graceful shutdown serves or
    /// closes each of them.
    public func shutdown() {
        shutdownRequests.continuation.yield()
    }

    /// Runs until SIGTERM or SIGINT (or until the task is cancelled), then drains and cleans up. When it
    /// handles signals, SIGHUP reloads the configuration file.
    public func run() async throws {
        // Trap the signals before the agent says it is listening: its listeners already accept, and
        // a SIGTERM that came between that line and the service group's own trap would end the agent
        // at once (the default action) instead of draining. (The group traps signals only once it
        // runs; so the agent traps them itself and asks the group to shut down.) SIGHUP too: its
        // default action would end the agent. The reload service goes before DrainNotice, which must
        // stay the first to hear of a shutdown.
        var services = services
        let shutdownSignals = handlesSignals ? await UnixSignalsSequence(trapping: .sigterm, .sigint) : nil
        if handlesSignals {
            let hangups = await UnixSignalsSequence(trapping: .sighup)
            services.insert(
                ReloadSignalService(hangups: hangups, reloader: reloader, logger: logger),
                at: services.count - 1
            )
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = drainTimeout
        let group = ServiceGroup(configuration: groupConfiguration)
        readiness.serve()
        logger.notice(
            "levee agent listening",
            metadata: [
                "socket": "\(guardSocket.path)", "admin_socket": "\(adminSocket.path)",
                "guard_server": "\(configuration.listen.guardServer.rawValue)",
                "http": "\(httpAddress ?? "off")",
                "proxy": "\(proxyAddress ?? "off")",
                "upstreams": "\(configuration.upstreams.count)",
                "config": "\(configuration.sourcePath ?? "built-in defaults")",
            ]
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            if let shutdownSignals {
                tasks.addTask { [logger] in
                    // A second signal while draining changes nothing (--drain-timeout bounds it).
                    for await signal in shutdownSignals {
                        logger.info("shutting down", metadata: ["signal": "\(signal)"])
                        await group.triggerGracefulShutdown()
                    }
                }
            }
            tasks.addTask { [shutdownRequests] in
                for await _ in shutdownRequests.stream { await group.triggerGracefulShutdown() }
            }
            tasks.addTask { try await group.run() }
            // The group ends first (the signals and shutdown requests never do): stop waiting for them.
            defer { tasks.cancelAll() }
            try await tasks.next()
        }
        logger.notice("levee agent stopped")
    }
}
