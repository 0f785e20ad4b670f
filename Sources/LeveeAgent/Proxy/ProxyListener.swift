import Glibc
import LeveeConfiguration
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The plain HTTP/1.1 proxy listener (`listen.proxy` on TCP, `listen.proxy_socket` on a Unix socket):
/// an app sends an ordinary HTTP request with the upstream's name as its `Host`, and gets the
/// upstream's answer, made under the upstream's policy as `Guard.Call` makes it, with `x-levee-*`
/// headers saying what happened. No gRPC stub needed.
///
/// Built from SwiftNIO channel handlers: each connection's requests are read, called and answered on
/// its own event loop, and the call's upstream connection is a pooled connection of that loop. Bound
/// at start (a taken port fails the agent's start); on shutdown it stops accepting, lets the calls in
/// flight answer, then closes its connections.
struct ProxyListener: Service {
    /// `host:port` of the TCP listener, with the real port when the configured one was 0.
    let address: String?
    private let channels: [any Channel]
    private let socket: UnixListeningSocket?
    private let runners: LoopCallRunners
    private let service: ProxyService
    private let connections: Connections

    /// The open app connections, to close once the calls in flight have answered.
    final class Connections: Sendable {
        private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

        func add(_ channel: any Channel) {
            open.withLock { $0[ObjectIdentifier(channel)] = channel }
            channel.closeFuture.whenComplete { [self] _ in
                _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }

        func closeAll() {
            for channel in open.withLock({ Array($0.values) }) { channel.close(promise: nil) }
        }
    }

    /// Binds what `listen` asks for (nil when the proxy is off on both), or throws what to change.
    static func bind(
        _ listen: ListenConfiguration,
        registry: UpstreamRegistry,
        gate: PeerCredentialGate? = nil,
        limits: ListenerLimitState,
        group: MultiThreadedEventLoopGroup = .singleton
    ) async throws -> ProxyListener? {
        guard listen.proxy != nil || listen.proxySocket != nil else { return nil }
        let service = ProxyService(registry: registry, maxRequestBody: listen.limits.maxRequestBody)
        let runners = LoopCallRunners(group: group)
        let connections = Connections()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let runner = runners.runner(for: channel.eventLoop)
                // The Unix socket's callers must be on `listen.allow`; TCP has no credentials to read.
                let admitted: EventLoopFuture<Void>
                if let gate, case .unixDomainSocket = channel.localAddress {
                    admitted = gate.admit(channel)
                } else {
                    admitted = channel.eventLoop.makeSucceededVoidFuture()
                }
                return admitted.flatMapThrowing {
                    // Over `max_connections`, the limiter answers 503 and closes: nothing else is needed.
                    let limiter = HTTPConnectionLimiter.accepting(channel, state: limits)
                    try channel.pipeline.syncOperations.addHandler(limiter)
                    guard !limiter.isRefusing else { return }
                    connections.add(channel)
                    try ProxyConnectionHandler.addServing(
                        to: channel.pipeline.syncOperations,
                        service: service,
                        runner: runner,
                        limiter: limiter
                    )
                }
            }
        var channels: [any Channel] = []
        var address: String?
        if let configured = listen.proxy {
            guard let parsed = EndpointAddress.parse(Substring(configured), portRange: 0...65535) else {
                throw ProxyListenerError(key: "listen.proxy", address: configured, reason: "not a host:port")
            }
            do {
                let channel = try await bootstrap.bind(host: parsed.host, port: parsed.port).get()
                channels.append(channel)
                let port = channel.localAddress?.port ?? parsed.port
                address = parsed.host.contains(":") ? "[\(parsed.host)]:\(port)" : "\(parsed.host):\(port)"
            } catch {
                throw ProxyListenerError(key: "listen.proxy", address: configured, reason: Self.describe(error))
            }
        }
        var socket: UnixListeningSocket?
        if let path = listen.proxySocket {
            do {
                let bound = try UnixListeningSocket.bind(path: path, mode: 0o660)
                socket = bound
                channels.append(try await bootstrap.withBoundSocket(bound.descriptor).get())
            } catch {
                for channel in channels { try? await channel.close() }
                socket?.abandon()
                throw ProxyListenerError(key: "listen.proxy_socket", address: path, reason: "\(error)")
            }
        }
        return ProxyListener(
            address: address,
            channels: channels,
            socket: socket,
            runners: runners,
            service: service,
            connections: connections
        )
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError, error.errnoCode == EADDRINUSE {
            return "the address is in use (another agent or program listens there)"
        }
        return "\(error)"
    }

    /// Closes what `bind` opened, for an agent that fails to start after it.
    func abandon() async {
        for channel in channels { try? await channel.close() }
        socket?.abandon()
    }

    func run() async throws {
        defer { socket?.removeFile() }
        await withDiscardingTaskGroup { group in
            for runner in runners.all {
                group.addTask { await runner.run() }
            }
            group.addTask { [channels, runners, service] in
                // Serves until the agent shuts down; then accepts no more, takes no new calls, and
                // lets those in flight answer.
                try? await gracefulShutdown()
                for channel in channels { try? await channel.close() }
                await service.drain()
                for runner in runners.all { runner.finish() }
            }
        }
        // Every call has answered: close the idle connections.
        connections.closeAll()
    }
}

/// Why the proxy listener could not start; says which key to change.
public struct ProxyListenerError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var address: String
    public var reason: String

    public var description: String {
        "\(key): cannot listen on \(address): \(reason); set \(key) to another \(key == "listen.proxy" ? "host:port (or --proxy), or off" : "path")"
    }
}
