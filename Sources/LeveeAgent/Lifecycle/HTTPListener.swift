import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The agent's HTTP/1.1 listener for Prometheus and probes (`listen.http`): `/metrics`, `/healthz`,
/// `/readyz`. Bound in `bind` (so that a taken port fails the agent's start), served until the agent's
/// service group ends: it shuts down last, so that `/readyz` says 503 while the agent drains.
struct HTTPListener: Service {
    let channel: any Channel
    /// `host:port` the listener is bound to: the real port when the configured one was 0.
    let address: String

    /// Binds `host:port` now; every request is answered by `respond(method, path)` on the event loop
    /// (it must not block).
    static func bind(
        _ configured: String,
        host: String,
        port: Int,
        limits: ListenerLimitState,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        respond: @escaping @Sendable (HTTPMethod, String) -> HTTPAnswer
    ) async throws(HTTPListenerError) -> HTTPListener {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Over `max_connections`, the limiter answers 503 and closes: nothing else is needed.
                    let limiter = HTTPConnectionLimiter.accepting(channel, state: limits)
                    try channel.pipeline.syncOperations.addHandler(limiter)
                    guard !limiter.isRefusing else { return }
                    // Requests the parser cannot read are answered by HTTPRequestHandler (400, or 431).
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPRequestHandler(limiter: limiter, respond: respond)
                    )
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch let error as IOError {
            throw HTTPListenerError(address: configured, reason: Self.describe(error))
        } catch {
            throw HTTPListenerError(address: configured, reason: "\(error)")
        }
        let boundPort = channel.localAddress?.port ?? port
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return HTTPListener(channel: channel, address: "\(shownHost):\(boundPort)")
    }

    private static func describe(_ error: IOError) -> String {
        if error.errnoCode == EADDRINUSE {
            return "the address is in use (another agent or program listens there)"
        }
        return "\(error)"
    }

    func run() async throws {
        // Serves while the rest of the group shuts down; closes when its own turn comes, or on
        // cancellation.
        try? await gracefulShutdown()
        close()
    }

    /// Closes the listening socket (and so frees the port).
    func close() {
        channel.close(promise: nil)
    }
}
