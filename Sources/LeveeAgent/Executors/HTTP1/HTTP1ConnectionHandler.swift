import Glibc
import LeveePolicy
import NIOCore
import NIOHTTP1

/// The last handler of a pooled upstream connection: writes an exchange's request and gathers its
/// answer (head and whole body, up to a limit), then tells the pool the connection is free again or
/// gone. One exchange at a time; all on the connection's event loop.
final class HTTP1ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPClientRequestPart

    private let maxBodyBytes: Int
    /// Called when an answer has ended and the connection may carry another request.
    var onIdle: ((HTTP1ConnectionHandler) -> Void)?
    /// Called once when the connection closed.
    var onClosed: ((HTTP1ConnectionHandler) -> Void)?

    private var context: ChannelHandlerContext?
    private var exchange: HTTP1Exchange?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    /// Whether the request asked the upstream to close after it.
    private var requestCloses = false
    private(set) var isClosed = false

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    var isBusy: Bool { exchange != nil }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes `request` and completes `exchange` with the answer.
    func send(_ request: HTTPRequestHead, body requestBody: ByteBuffer?, exchange: HTTP1Exchange) {
        guard let context, !isClosed else {
            exchange.finish(.failed(.reset, detail: "the upstream closed the connection"))
            return
        }
        self.exchange = exchange
        head = nil
        body = nil
        requestCloses = !request.isKeepAlive
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        if let requestBody, requestBody.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(requestBody))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        // An upstream that writes its head and body in two segments without TCP_NODELAY (Python's
        // http.server does) holds the body until this side ACKs the head, and Linux delays that ACK
        // by up to 40 ms. In quick-ACK mode the kernel ACKs the head as it arrives. The mode is not
        // sticky (the kernel leaves it on its own), so it is set again for each request. (Setting it
        // only when a read ends with the answer incomplete was tried: it still stalled half the calls
        // about 20 ms.)
        context.channel.quickAck()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            // 1xx answers (100 Continue, 103 Early Hints) precede the real one.
            if received.status.code < 200 && received.status.code != 101 { return }
            head = received
        case .body(var part):
            guard head != nil else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > maxBodyBytes {
                fail(.reset, "the answer's body is larger than \(maxBodyBytes) bytes")
                context.close(promise: nil)
                return
            }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let received = head, let exchange else { return }
            head = nil
            self.exchange = nil
            let answer = HTTPUpstreamResponse(
                status: received.status,
                headers: received.headers,
                body: body ?? ByteBuffer()
            )
            body = nil
            let pushback = ServerPushback(httpHeaders: received.headers)
            exchange.finish(.answered(.http(answer), status: .http(Int(received.status.code)), pushback: pushback))
            if requestCloses || !received.isKeepAlive {
                context.close(promise: nil)
            } else {
                onIdle?(self)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.reset, "connection failed: \(HTTP1Errors.describe(error))")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(
            .reset,
            head == nil
                ? "the upstream closed the connection before answering"
                : "the upstream closed the connection mid-answer"
        )
        if !isClosed {
            isClosed = true
            onClosed?(self)
        }
        context.fireChannelInactive()
    }

    /// Ends the exchange in progress, if any, with `failure`.
    func fail(_ failure: TransportFailure, _ detail: String) {
        guard let exchange else { return }
        self.exchange = nil
        head = nil
        body = nil
        exchange.finish(.failed(failure, detail: detail))
    }

    /// Closes the connection (an exchange in progress fails as reset).
    func close() {
        context?.close(promise: nil)
    }
}

extension Channel {
    /// Sends a pending delayed ACK at once, and acknowledges what arrives next at once too
    /// (`TCP_QUICKACK`, which the kernel drops again by itself).
    func quickAck() {
        _ = try? syncOptions?.setOption(
            ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(TCP_QUICKACK))),
            value: 1
        )
    }
}
