import LeveeConfiguration
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Holds one connection of a gRPC socket (Guard, admin) to `listen.idle_timeout` and
/// `listen.read_timeout`, and counts the RPCs in flight on it against
/// `listen.max_streams_per_connection` (which HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS enforces:
/// the count is for the metric). Added to the connection's pipeline when it is accepted; each of its
/// RPC streams gets a ``GRPCStreamLimiter`` that reports to it.
///
/// - A connection with no RPC in flight for the idle timeout is closed as a gRPC server closes one on
///   shutdown (GOAWAY, then close), so that a client never sends a call into a connection being
///   closed; closed outright a second later if the client does not answer (it may never have sent a
///   byte).
/// - An RPC whose request has not ended within the read timeout of the stream's start is answered
///   `DEADLINE_EXCEEDED` and its stream closed: a client that trickles its request holds only that
///   stream, never a bulkhead slot (a unary handler runs once its request has arrived whole).
final class GRPCConnectionLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    let state: ListenerLimitState
    private var context: ChannelHandlerContext?
    private var timer: DeadlineTimer
    private var openStreams = 0
    /// The streams whose request has not ended yet, with when each started.
    private var reading: [ObjectIdentifier: (stream: GRPCStreamLimiter, started: NIODeadline)] = [:]
    private var idleSince = NIODeadline.now()
    /// When the idle connection was asked to close gracefully.
    private var quiescedAt: NIODeadline?
    /// How long a client has to answer the GOAWAY before its idle connection is closed outright.
    static let quiesceGrace = TimeAmount.seconds(1)

    init(state: ListenerLimitState) {
        self.state = state
        let limits = state.limits
        timer = DeadlineTimer(period: .init(min(limits.readTimeout, limits.idleTimeout)))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        idleSince = .now()
        armTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
        reading.removeAll()
        self.context = nil
    }

    func streamOpened(_ stream: GRPCStreamLimiter) {
        openStreams += 1
        if openStreams == state.limits.maxStreamsPerConnection { state.hit(.maxStreamsPerConnection) }
        reading[ObjectIdentifier(stream)] = (stream, .now())
        armTimer()
    }

    func requestEnded(_ stream: GRPCStreamLimiter) {
        reading.removeValue(forKey: ObjectIdentifier(stream))
    }

    func streamClosed(_ stream: GRPCStreamLimiter) {
        reading.removeValue(forKey: ObjectIdentifier(stream))
        openStreams = max(0, openStreams - 1)
        if openStreams == 0 {
            idleSince = .now()
            armTimer()
        }
    }

    func hit(_ limit: ListenerLimit) {
        state.hit(limit)
    }

    /// The earliest moment something on the connection is due.
    private var deadline: NIODeadline? {
        if let quiescedAt { return quiescedAt + Self.quiesceGrace }
        if let oldest = reading.values.lazy.map(\.started).min() {
            return oldest + .init(state.limits.readTimeout)
        }
        return openStreams == 0 ? idleSince + .init(state.limits.idleTimeout) : nil
    }

    private func armTimer() {
        guard !timer.isArmed, let context, let deadline else { return }
        timer.arm(for: deadline, on: context.eventLoop) { [self] in timerFired() }
    }

    private func timerFired() {
        timer.fired()
        guard let context else { return }
        let now = NIODeadline.now()
        let readTimeout = TimeAmount(state.limits.readTimeout)
        for (key, entry) in reading where entry.started + readTimeout <= now {
            reading.removeValue(forKey: key)
            state.hit(.readTimeout)
            entry.stream.expire(readTimeout: state.limits.readTimeout)
        }
        if let quiescedAt {
            if quiescedAt + Self.quiesceGrace <= now { context.close(promise: nil) }
        } else if reading.isEmpty, openStreams == 0, idleSince + .init(state.limits.idleTimeout) <= now {
            state.hit(.idleTimeout)
            quiescedAt = now
            // grpc-swift's connection handler, further on, answers it with GOAWAY and closes.
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        armTimer()
    }
}

/// Watches one RPC stream of a gRPC connection, first in the stream's pipeline: reports its start,
/// the end of its request and its close to the connection's ``GRPCConnectionLimiter``; refuses a
/// request message over `listen.max_message_size` from its length prefix, before its bytes are
/// buffered (`RESOURCE_EXHAUSTED`; grpc-swift itself would only reset the stream); and answers
/// `DEADLINE_EXCEEDED` when the connection says its request took too long.
final class GRPCStreamLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let connection: GRPCConnectionLimiter
    private var context: ChannelHandlerContext?
    private var requestEnded = false
    /// The stream has been answered here: nothing more goes to the RPC.
    private var answered = false
    /// How many bytes of the first request message's 5-byte prefix (flag, length) have arrived, and
    /// the length read from them so far: no allocation per RPC.
    private var prefixBytesSeen = 0
    private var messageLength = 0

    init(connection: GRPCConnectionLimiter) {
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        connection.streamOpened(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        connection.streamClosed(self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        switch unwrapInboundIn(data) {
        case .headers(let headers) where headers.endStream:
            endRequest()
        case .data(let data):
            if prefixBytesSeen < 5, case .byteBuffer(let buffer) = data.data, let length = readPrefix(buffer) {
                let limit = connection.state.limits.maxMessageSize
                if length > limit {
                    endRequest()
                    connection.hit(.maxMessageSize)
                    answer(
                        status: 8,
                        "the request message (\(length) bytes) is larger than listen.max_message_size (\(limit) bytes)"
                    )
                    return
                }
            }
            if data.endStream { endRequest() }
        default:
            break
        }
        context.fireChannelRead(data)
    }

    private func endRequest() {
        guard !requestEnded else { return }
        requestEnded = true
        connection.requestEnded(self)
    }

    /// Adds `buffer`'s first bytes to the message prefix; returns the message length once all five
    /// are in.
    private func readPrefix(_ buffer: ByteBuffer) -> Int? {
        for byte in buffer.readableBytesView.prefix(5 - prefixBytesSeen) {
            // Byte 0 is the compression flag; bytes 1...4 the big-endian length.
            if prefixBytesSeen > 0 { messageLength = messageLength << 8 | Int(byte) }
            prefixBytesSeen += 1
        }
        return prefixBytesSeen == 5 ? messageLength : nil
    }

    /// Answers `DEADLINE_EXCEEDED` and closes the stream.
    func expire(readTimeout: Duration) {
        answer(status: 4, "the request did not arrive whole within listen.read_timeout (\(readTimeout))")
    }

    /// Answers with trailers only (`status`, `message`) and ends the stream. The RPC's handler has
    /// not answered yet: its request is not whole.
    private func answer(status: Int, _ message: String) {
        guard let context, !answered else { return }
        answered = true
        let headers: HPACKHeaders = [
            ":status": "200", "content-type": "application/grpc", "grpc-status": "\(status)",
            "grpc-message": message,
        ]
        // Then RST_STREAM(NO_ERROR), as gRPC over HTTP/2 asks of a server that answers before the
        // request's end: the client stops sending and keeps the status (closing the stream channel
        // would send CANCEL, which clients report instead of the status).
        context.write(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.rstStream(.noError)), promise: nil)
    }
}
