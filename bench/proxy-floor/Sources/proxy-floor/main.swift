// What a proxied HTTP/1.1 request costs on SwiftNIO before any of Levee's work, in two variants:
//
// - `bytes`: each app connection is paired with its own upstream connection on the same event loop,
//   and bytes are forwarded both ways as they arrive: no HTTP at all (a layer-4 proxy, the floor of
//   any proxy built on NIO's channels).
// - `codec`: the same pairing with NIO's HTTP/1.1 codec on both connections (request decoder and
//   response encoder on the app's, the client handlers on the upstream's, no header validation on
//   either), each request and response part forwarded as it is decoded: what NIO's codec adds,
//   without a connection pool, policy or header changes.
// - `heads`: the same pairing, each HTTP/1.1 message read as bytes: the end of its head found, its
//   header lines scanned for the ones a proxy acts on (`content-length` to frame the body, `host` on
//   requests) without making a string, a `via` line added, and the message written whole. What
//   handling heads as bytes costs, in place of NIO's codec (no chunked bodies: wrk and nginx send
//   none).
//
// Usage: proxy-floor bytes|codec|heads LISTEN_PORT UPSTREAM_PORT [EVENT_LOOPS]
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

/// Frames the HTTP/1.1 messages one channel reads, as bytes, and writes each to its peer with a
/// `via` line added (the `heads` variant).
final class HeadFramer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var peer: (any Channel)?
    private var held: [ByteBuffer] = []
    /// What has been read and not yet framed.
    private var input: ByteBuffer?
    /// Messages framed since the last flush.
    private var framed = 0

    init(peer: (any Channel)?) {
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input == nil { input = bytes } else { input!.writeBuffer(&bytes) }
        while let message = nextMessage(allocator: context.channel.allocator) {
            if let peer { peer.write(message, promise: nil) } else { held.append(message) }
            framed += 1
        }
        if input?.readableBytes == 0 { input = nil }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if framed > 0 { peer?.flush() }
        framed = 0
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func connected(to peer: any Channel) {
        self.peer = peer
        for message in held { peer.write(message, promise: nil) }
        held = []
        peer.flush()
    }

    /// The next whole message in `input`, with `via` added to its head; nil until one has arrived.
    private func nextMessage(allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard let input, input.readableBytes > 0 else { return nil }
        let framing: (head: Int, body: Int)? = input.withUnsafeReadableBytes { bytes in
            // The head ends at the first empty line; each line before it is scanned once.
            var lineStart = 0
            var bodyLength = 0
            var index = 0
            while let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = bytes[lineStart..<newline]
                if line.count <= 1 { return (newline + 1, bodyLength) }  // "\r\n": the head's end
                if lineStart > 0, let colon = line.firstIndex(of: UInt8(ascii: ":")),
                    Self.isName(bytes[lineStart..<colon], "content-length")
                {
                    bodyLength = 0
                    for byte in bytes[(colon + 1)..<newline] where (48...57).contains(byte) {
                        bodyLength = bodyLength * 10 + Int(byte - 48)
                    }
                }
                lineStart = newline + 1
                index = lineStart
            }
            return nil
        }
        guard let framing, input.readableBytes >= framing.head + framing.body else { return nil }
        var message = allocator.buffer(capacity: framing.head + framing.body + 16)
        var head = self.input!.readSlice(length: framing.head - 2)!  // without the empty line
        message.writeBuffer(&head)
        self.input!.moveReaderIndex(forwardBy: 2)
        message.writeStaticString("via: 1.1 levee\r\n\r\n")
        var body = self.input!.readSlice(length: framing.body)!
        message.writeBuffer(&body)
        return message
    }

    /// Whether `name` is `lowercase` but for the case of its letters.
    private static func isName(_ name: Slice<UnsafeRawBufferPointer>, _ lowercase: StaticString) -> Bool {
        guard name.count == lowercase.utf8CodeUnitCount else { return false }
        var expected = lowercase.utf8Start
        for byte in name {
            let lowered = (65...90).contains(byte) ? byte | 0x20 : byte
            guard lowered == expected.pointee else { return false }
            expected += 1
        }
        return true
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
guard arguments.count >= 4, ["bytes", "codec", "heads"].contains(arguments[1]),
    let listenPort = Int(arguments[2]), let upstreamPort = Int(arguments[3])
else {
    print("usage: proxy-floor bytes|codec|heads LISTEN_PORT UPSTREAM_PORT [EVENT_LOOPS]")
    exit(2)
}
let variant = arguments[1]
let group = MultiThreadedEventLoopGroup(numberOfThreads: arguments.count > 4 ? Int(arguments[4]) ?? 1 : 1)

/// Sets up an accepted app connection: its forwarder, and a connection to the upstream on its loop.
func serve(_ app: any Channel) -> EventLoopFuture<Void> {
    let loop = app.eventLoop
    do {
        let toUpstream: (any Channel) -> Void
        switch variant {
        case "codec":
            let forwarder = Forwarder<HTTPServerRequestPart, HTTPClientRequestPart>(peer: nil, convert: request)
            // As the agent's proxy listener has it: no pipelining assistance, no header validation.
            try app.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
            try app.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
            try app.pipeline.syncOperations.addHandler(forwarder)
            toUpstream = forwarder.connected
        case "heads":
            let framer = HeadFramer(peer: nil)
            try app.pipeline.syncOperations.addHandler(framer)
            toUpstream = framer.connected
        default:
            let forwarder = Forwarder<ByteBuffer, ByteBuffer>(peer: nil, convert: { $0 })
            try app.pipeline.syncOperations.addHandler(forwarder)
            toUpstream = forwarder.connected
        }
        let loopBound = NIOLoopBound(toUpstream, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture {
                    switch variant {
                    case "codec":
                        try upstream.pipeline.syncOperations.addHTTPClientHandlers(
                            enableOutboundHeaderValidation: false
                        )
                        try upstream.pipeline.syncOperations.addHandler(
                            Forwarder<HTTPClientResponsePart, HTTPServerResponsePart>(peer: app, convert: response)
                        )
                    case "heads":
                        try upstream.pipeline.syncOperations.addHandler(HeadFramer(peer: app))
                    default:
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
