// What a proxied HTTP/1.1 request costs on SwiftNIO before any of Levee's work, in two variants:
//
// - `bytes`: each app connection is paired with its own upstream connection on the same event loop,
//   and bytes are forwarded both ways as they arrive: no HTTP at all (a layer-4 proxy, the floor of
//   any proxy built on NIO's channels).
// - `codec`: the same pairing with NIO's HTTP/1.1 codec on both connections (request decoder and
//   response encoder on the app's, the client handlers on the upstream's, no header validation on
//   either), each request and response part forwarded as it is decoded: what NIO's codec adds,
//   without a connection pool, policy or header changes.
//
// Usage: proxy-floor bytes|codec LISTEN_PORT UPSTREAM_PORT [EVENT_LOOPS]
import NIOCore
import NIOHTTP1
import NIOPosix

/// Forwards what one channel reads to its peer, flushing at the end of each read burst.
final class Forwarder<Part, Forwarded: Sendable>: ChannelInboundHandler {
    typealias InboundIn = Part
    /// The channel the reads go to; nil until it connects (reads are held until then).
    private var peer: (any Channel)?
    private var held: [Part] = []
    private let convert: (Part) -> Forwarded

    init(peer: (any Channel)?, convert: @escaping (Part) -> Forwarded) {
        self.peer = peer
        self.convert = convert
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if let peer { peer.write(convert(part), promise: nil) } else { held.append(part) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        peer?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func connected(to peer: any Channel) {
        self.peer = peer
        for part in held { peer.write(convert(part), promise: nil) }
        held = []
        peer.flush()
    }
}

func request(_ part: HTTPServerRequestPart) -> HTTPClientRequestPart {
    switch part {
    case .head(let head): .head(head)
    case .body(let body): .body(.byteBuffer(body))
    case .end(let trailers): .end(trailers)
    }
}

func response(_ part: HTTPClientResponsePart) -> HTTPServerResponsePart {
    switch part {
    case .head(let head): .head(head)
    case .body(let body): .body(.byteBuffer(body))
    case .end(let trailers): .end(trailers)
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, ["bytes", "codec"].contains(arguments[1]),
    let listenPort = Int(arguments[2]), let upstreamPort = Int(arguments[3])
else {
    print("usage: proxy-floor bytes|codec LISTEN_PORT UPSTREAM_PORT [EVENT_LOOPS]")
    exit(2)
}
let codec = arguments[1] == "codec"
let group = MultiThreadedEventLoopGroup(numberOfThreads: arguments.count > 4 ? Int(arguments[4]) ?? 1 : 1)

/// Sets up an accepted app connection: its forwarder, and a connection to the upstream on its loop.
func serve(_ app: any Channel) -> EventLoopFuture<Void> {
    let loop = app.eventLoop
    do {
        let toUpstream: (any Channel) -> Void
        if codec {
            let forwarder = Forwarder<HTTPServerRequestPart, HTTPClientRequestPart>(peer: nil, convert: request)
            // As the agent's proxy listener has it: no pipelining assistance, no header validation.
            try app.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
            try app.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
            try app.pipeline.syncOperations.addHandler(forwarder)
            toUpstream = forwarder.connected
        } else {
            let forwarder = Forwarder<ByteBuffer, ByteBuffer>(peer: nil, convert: { $0 })
            try app.pipeline.syncOperations.addHandler(forwarder)
            toUpstream = forwarder.connected
        }
        let loopBound = NIOLoopBound(toUpstream, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture {
                    if codec {
                        try upstream.pipeline.syncOperations.addHTTPClientHandlers(
                            enableOutboundHeaderValidation: false
                        )
                        try upstream.pipeline.syncOperations.addHandler(
                            Forwarder<HTTPClientResponsePart, HTTPServerResponsePart>(peer: app, convert: response)
                        )
                    } else {
                        try upstream.pipeline.syncOperations.addHandler(
                            Forwarder<ByteBuffer, ByteBuffer>(peer: app, convert: { $0 })
                        )
                    }
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                switch result {
                case .success(let upstream): loopBound.value(upstream)
                case .failure: app.close(promise: nil)
                }
            }
        return loop.makeSucceededVoidFuture()
    } catch {
        return loop.makeFailedFuture(error)
    }
}

let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer(serve)
    .bind(host: "127.0.0.1", port: listenPort)
    .wait()
print("proxy-floor \(arguments[1]) listening on \(listenPort)")
try server.closeFuture.wait()
