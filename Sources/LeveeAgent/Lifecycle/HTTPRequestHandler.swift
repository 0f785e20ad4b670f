import LeveeConfiguration
import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection: each request gets the answer of `respond`, then keep-alive or close.
/// Requests are held to the listener's limits (``HTTPConnectionLimiter``): a head over
/// `max_header_size` is answered 431, a body over `max_request_body` 413 (the routes take no body;
/// a small one is read and dropped), what the parser cannot read 400.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let limiter: HTTPConnectionLimiter
    private let respond: @Sendable (HTTPMethod, String) -> HTTPAnswer
    private var head: HTTPRequestHead?
    private var bodyBytes = 0

    init(limiter: HTTPConnectionLimiter, respond: @escaping @Sendable (HTTPMethod, String) -> HTTPAnswer) {
        self.limiter = limiter
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard limiter.admit(head) else { return }
            self.head = head
            bodyBytes = 0
        case .body(let part):
            guard head != nil else { return }
            bodyBytes += part.readableBytes
            if bodyBytes > limiter.state.limits.maxRequestBody {
                head = nil
                limiter.hit(.maxRequestBody)
                limiter.refuse(
                    .payloadTooLarge,
                    "the request body is larger than listen.max_request_body (\(limiter.state.limits.maxRequestBody) bytes)"
                )
            }
        case .end:
            guard let head else { return }
            self.head = nil
            limiter.requestRead()
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
                limiter.responseWritten()
            } else {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError {
            limiter.refuse(error)
        } else {
            context.close(promise: nil)
        }
    }
}
