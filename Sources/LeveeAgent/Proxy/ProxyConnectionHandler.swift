import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1

/// Serves one app connection of the proxy listener: reads each request whole (up to
/// `max_request_body`), makes it a guarded call on the connection's own event loop, and writes the
/// answer; keep-alive, pipelined requests answered in order.
///
/// Nothing is held for a request until it has been read whole: a client that stalls mid-request
/// holds no bulkhead slot, no task and no thread, only its buffered bytes. Reads are held back only
/// when a client pipelines more than ``maxPipelined`` requests ahead of its answers.
final class ProxyConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPServerResponsePart

    /// Requests read ahead of their answers before reading stops.
    static let maxPipelined = 16

    private let service: ProxyService
    private let runner: LoopCallRunner
    /// The connection's read and idle timeouts, and the hit counters of the size limits.
    private let limiter: HTTPConnectionLimiter
    private var context: ChannelHandlerContext?

    private enum Reading {
        case idle
        case body(HTTPRequestHead, ByteBuffer?)
        /// The rest of a refused request (413, 431) is ignored; the connection closes after the answer.
        case discarding
    }

    private struct Pending {
        var head: HTTPRequestHead
        var body: ByteBuffer?
        /// An answer decided while reading (413, 431), sent in turn without a call.
        var answer: ProxyAnswer?
    }

    private var reading = Reading.idle
    private var pending = CircularBuffer<Pending>()
    private var inFlight = false
    private var readHeld = false
    private var closing = false

    init(service: ProxyService, runner: LoopCallRunner, limiter: HTTPConnectionLimiter) {
        self.service = service
        self.runner = runner
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard !closing else { return }
            let maxHeaderSize = limiter.state.limits.maxHeaderSize
            if HTTPConnectionLimiter.size(of: head) > maxHeaderSize {
                refuse(
                    head,
                    .requestHeaderFieldsTooLarge,
                    HTTPConnectionLimiter.headerSizeMessage(maxHeaderSize),
                    limit: .maxHeaderSize
                )
                return
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > service.maxRequestBody
            {
                refuseTooLarge(head)
                return
            }
            if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                    promise: nil
                )
            }
            reading = .body(head, nil)
        case .body(var part):
            guard case .body(let head, var body) = reading else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > service.maxRequestBody {
                refuseTooLarge(head)
                return
            }
            reading = .idle  // lets `body` be appended to without a copy
            if body == nil { body = part } else { body!.writeBuffer(&part) }
            reading = .body(head, body)
        case .end:
            guard case .body(let head, let body) = reading else {
                if case .discarding = reading { reading = .idle }
                return
            }
            reading = .idle
            limiter.requestRead()
            pending.append(Pending(head: head, body: body, answer: nil))
            next()
        }
    }

    /// Answers 413 in turn and closes after it: the rest of the body is not read.
    private func refuseTooLarge(_ head: HTTPRequestHead) {
        refuse(
            head,
            .payloadTooLarge,
            "the request body is larger than listen.max_request_body (\(service.maxRequestBody) bytes)",
            limit: .maxRequestBody
        )
    }

    /// Answers `status` in turn, counts the `limit` hit, and closes after the answer: the rest of the
    /// request is not read.
    private func refuse(_ head: HTTPRequestHead, _ status: HTTPResponseStatus, _ message: String, limit: ListenerLimit)
    {
        reading = .discarding
        closing = true
        limiter.hit(limit)
        limiter.requestRead()
        pending.append(Pending(head: head, body: nil, answer: .refusal(status, message)))
        next()
    }

    /// Starts the next request's call, when none is in flight.
    private func next() {
        guard !inFlight, let request = pending.popFirst() else { return }
        if readHeld, pending.count < Self.maxPipelined {
            readHeld = false
            context?.read()
        }
        inFlight = true
        if let answer = request.answer {
            respond(answer, to: request.head)
            return
        }
        let head = request.head
        switch ProxyRequest.parse(head, body: request.body) {
        case .refused(let answer):
            respond(answer, to: head)
        case .call(let call):
            let handler = NIOLoopBound(self, eventLoop: runner.loop)
            service.answer(call, runner: runner) { answer in
                handler.value.respond(answer, to: head)
            }
        }
    }

    /// Writes `answer` to the request `head`, then goes on with the next request (or closes).
    private func respond(_ answer: ProxyAnswer, to head: HTTPRequestHead) {
        inFlight = false
        guard let context else { return }
        // A connection that is closing still answers what was read before the reason to close.
        let keepAlive = head.isKeepAlive && !(closing && pending.isEmpty)
        var headers = answer.headers
        let bodyless = head.method == .HEAD || answer.status == .noContent || answer.status == .notModified
        if !bodyless || !headers.contains(name: "content-length") {
            headers.replaceOrAdd(name: "content-length", value: String(answer.body.readableBytes))
        }
        if answer.status == .noContent { headers.remove(name: "content-length") }
        headers.add(name: "via", value: "1.1 levee")
        if !keepAlive {
            headers.replaceOrAdd(name: "connection", value: "close")
        } else if head.version.major == 1 && head.version.minor == 0 {
            headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))),
            promise: nil
        )
        if !bodyless, answer.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            limiter.responseWritten()
            next()
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func read(context: ChannelHandlerContext) {
        if pending.count >= Self.maxPipelined {
            readHeld = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !inFlight else {
            context.close(promise: nil)
            return
        }
        // Not HTTP/1.1, or a head over the parser's own limit: say so once (400, 431), then close.
        closing = true
        reading = .discarding
        pending.removeAll()
        inFlight = true
        limiter.refuse(parserError)
    }
}

extension ProxyConnectionHandler {
    /// Adds what serves an app connection after its `limiter` (already in `pipeline`): the response
    /// encoder, NIO's request decoder, and the handler itself, which it returns. The listener and the
    /// `proxy` fuzz target both build the pipeline here, so that the fuzzer reads what apps reach.
    @discardableResult
    static func addServing(
        to pipeline: ChannelPipeline.SynchronousOperations,
        service: ProxyService,
        runner: LoopCallRunner,
        limiter: HTTPConnectionLimiter
    ) throws -> ProxyConnectionHandler {
        let handler = ProxyConnectionHandler(service: service, runner: runner, limiter: limiter)
        try pipeline.addHandler(HTTPResponseEncoder())
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try pipeline.addHandler(handler)
        return handler
    }
}
