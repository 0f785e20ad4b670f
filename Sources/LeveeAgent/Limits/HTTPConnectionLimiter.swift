import LeveeConfiguration
import NIOCore
import NIOHTTP1

/// Holds one HTTP/1.1 connection of the proxy or metrics listener to `listen.read_timeout` and
/// `listen.idle_timeout`. It sits first in the pipeline, so it sees a request's bytes before the
/// HTTP parser does: a request is timed from its first byte, however slowly the rest comes. The
/// connection's handler tells it when a request has been read whole (``requestRead()``) and when an
/// answer has been written (``responseWritten()``); between the two nothing is timed here (the call
/// has its own deadline).
///
/// - A request not read whole within the read timeout is answered 408 and the connection closed
///   (closed without an answer when earlier requests are still unanswered: the answer would jump
///   their queue).
/// - A connection with no request in flight for the idle timeout is closed.
///
/// A connection over `listen.max_connections` gets a limiter that answers 503 and closes (``refusing``).
final class HTTPConnectionLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let state: ListenerLimitState
    private let refusing: Bool
    /// Whether the connection is over `max_connections`: answered 503 and closed, nothing else to add.
    var isRefusing: Bool { refusing }
    /// An answer that closes the connection has been written: what comes after is dropped.
    private var closing = false
    private var context: ChannelHandlerContext?
    private var timer: DeadlineTimer
    /// Requests read whole and not answered yet.
    private var unanswered = 0
    /// When the first byte of the request being read arrived; nil between requests.
    private var readStarted: NIODeadline?
    /// When the connection last had nothing in flight.
    private var idleSince = NIODeadline.now()

    init(state: ListenerLimitState, refusing: Bool = false) {
        self.state = state
        self.refusing = refusing
        let limits = state.limits
        timer = DeadlineTimer(period: .init(min(limits.readTimeout, limits.idleTimeout)))
    }

    /// The limiter of a newly accepted connection: counted against `max_connections`, or refusing it.
    static func accepting(_ channel: any Channel, state: ListenerLimitState) -> HTTPConnectionLimiter {
        if state.connections.admit(channel) { return HTTPConnectionLimiter(state: state) }
        state.hit(.maxConnections)
        return HTTPConnectionLimiter(state: state, refusing: true)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
        self.context = nil
    }

    private func start(context: ChannelHandlerContext) {
        guard refusing else {
            idleSince = .now()
            armTimer()
            return
        }
        let connections = state.connections.limit
        answer(
            .serviceUnavailable,
            "the \(state.socket) listener has \(connections) connections open (listen.max_connections)",
            context: context
        )
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refusing || closing { return }
        if readStarted == nil {
            readStarted = .now()
            armTimer()
        }
        context.fireChannelRead(data)
    }

    /// The connection's handler has read a request whole.
    func requestRead() {
        readStarted = nil
        unanswered += 1
    }

    /// The connection's handler has written an answer.
    func responseWritten() {
        unanswered = max(0, unanswered - 1)
        if unanswered == 0 {
            idleSince = .now()
            armTimer()
        }
    }

    /// Counts a limit the connection's handler enforced itself (header and body sizes).
    func hit(_ limit: ListenerLimit) {
        state.hit(limit)
    }

    /// What the connection waits for, and until when.
    private var deadline: (limit: ListenerLimit, at: NIODeadline)? {
        if let readStarted { return (.readTimeout, readStarted + .init(state.limits.readTimeout)) }
        if unanswered == 0 { return (.idleTimeout, idleSince + .init(state.limits.idleTimeout)) }
        return nil
    }

    private func armTimer() {
        guard !timer.isArmed, let context, let deadline else { return }
        timer.arm(for: deadline.at, on: context.eventLoop) { [self] in timerFired() }
    }

    private func timerFired() {
        timer.fired()
        guard let context, let deadline else { return }
        guard deadline.at <= .now() else {
            armTimer()
            return
        }
        state.hit(deadline.limit)
        if deadline.limit == .readTimeout, unanswered == 0 {
            answer(
                .requestTimeout,
                "the request did not arrive whole within listen.read_timeout (\(state.limits.readTimeout))",
                context: context
            )
        } else {
            context.close(promise: nil)
        }
    }

    /// Answers `status` with `message` and closes, past the HTTP encoder and whatever state the
    /// handlers after it are in: for what the HTTP parser could not read (a head over the parser's
    /// limit, bytes that are not HTTP/1.1).
    func refuse(_ status: HTTPResponseStatus, _ message: String) {
        guard let context else { return }
        answer(status, message, context: context)
    }

    /// Writes a whole answer past the HTTP encoder (this handler is first), then closes.
    private func answer(_ status: HTTPResponseStatus, _ message: String, context: ChannelHandlerContext) {
        closing = true
        let body = "levee: \(message)\n"
        let head =
            "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\ncontent-type: text/plain; charset=utf-8\r\n"
            + "content-length: \(body.utf8.count)\r\nconnection: close\r\nvia: 1.1 levee\r\n\r\n"
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: head + body))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Checks a request head against `max_header_size`; over it, counts the hit and answers 431.
    /// Returns whether the head may be served.
    func admit(_ head: HTTPRequestHead) -> Bool {
        guard Self.size(of: head) > state.limits.maxHeaderSize else { return true }
        hit(.maxHeaderSize)
        refuse(.requestHeaderFieldsTooLarge, Self.headerSizeMessage(state.limits.maxHeaderSize))
        return false
    }

    static func headerSizeMessage(_ limit: Int) -> String {
        "the request head is larger than listen.max_header_size (\(limit) bytes)"
    }

    /// Answers what the HTTP parser refused: 431 for a head over the parser's own limit, else 400.
    func refuse(_ error: HTTPParserError) {
        if error == .headerOverflow {
            hit(.maxHeaderSize)
            refuse(.requestHeaderFieldsTooLarge, Self.headerSizeMessage(state.limits.maxHeaderSize))
        } else {
            refuse(.badRequest, "the request is not valid HTTP/1.1")
        }
    }

    /// The size of a request head as it came on the wire: request line, header lines, blank line.
    static func size(of head: HTTPRequestHead) -> Int {
        var size = head.method.rawValue.utf8.count + head.uri.utf8.count + 12
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        return size + 2
    }
}
