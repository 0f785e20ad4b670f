import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Why the HTTP listener could not start; says which key to change.
public struct HTTPListenerError: Error, Sendable, CustomStringConvertible {
    public var address: String
    public var reason: String

    public var description: String {
        "listen.http: cannot listen on \(address): \(reason); set listen.http (or --http) to another host:port, or off"
    }
}

/// Whether the agent takes work: `/readyz` answers 200 only while it is serving.
final class Readiness: Sendable {
    enum Phase: Sendable {
        case starting
        case serving
        case draining
    }

    private let phase = Mutex(Phase.starting)

    var current: Phase { phase.withLock { $0 } }

    func serve() {
        phase.withLock { if $0 == .starting { $0 = .serving } }
    }

    func drain() {
        phase.withLock { $0 = .draining }
    }
}

/// An answer of the HTTP listener.
struct HTTPAnswer: Sendable {
    var status: HTTPResponseStatus
    var contentType = "text/plain; charset=utf-8"
    var body: [UInt8]
    var headers: [(String, String)] = []

    init(status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    init(status: HTTPResponseStatus, _ text: String) {
        self.init(status: status, body: Array((text + "\n").utf8))
    }
}

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
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        respond: @escaping @Sendable (HTTPMethod, String) -> HTTPAnswer
    ) async throws(HTTPListenerError) -> HTTPListener {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestHandler(respond: respond))
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

/// One HTTP/1.1 connection: each request gets the answer of `respond`, then keep-alive or close.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let respond: @Sendable (HTTPMethod, String) -> HTTPAnswer
    private var head: HTTPRequestHead?

    init(respond: @escaping @Sendable (HTTPMethod, String) -> HTTPAnswer) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = String(head.uri.prefix { $0 != "?" })
            let answer = respond(head.method, path)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: answer.contentType)
            headers.add(name: "content-length", value: "\(answer.body.count)")
            for (name, value) in answer.headers { headers.add(name: name, value: value) }
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "connection", value: "close") }
            let response = HTTPResponseHead(version: head.version, status: answer.status, headers: headers)
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            if head.method != .HEAD {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))),
                    promise: nil
                )
            }
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
