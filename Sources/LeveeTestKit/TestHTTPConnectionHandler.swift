import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One accepted connection of a ``TestHTTPServer``: reads each request, records it, and carries out the
/// server's behaviour for its path.
///
/// NIO's `HTTPServerPipelineHandler` (added by `configureHTTPServerPipeline`) holds back a pipelined
/// request until the previous response has ended, so this handler sees one request at a time even
/// while it stalls.
final class TestHTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private struct PendingRequest {
        var head: HTTPRequestHead
        var behaviour: TestHTTPBehaviour
        var body: [UInt8] = []
    }

    private let server: TestHTTPServer
    private var pending: PendingRequest?
    /// The stall in progress, cancelled when the connection closes (also when the server stops).
    private var stall: Scheduled<Void>?
    /// Set once the handler dropped the connection: parts of the request still in the pipeline are
    /// ignored.
    private var isDropped = false

    init(server: TestHTTPServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDropped else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            let behaviour = server.behaviour(forPath: TestHTTPRequest.path(of: head.uri))
            switch behaviour {
            case .reset, .close:
                let request = Self.request(head, body: [])
                server.record(request)
                perform(behaviour, request: request, head: head, context: context)
            case .respond, .respondBytes, .stall, .stallBody, .echo:
                pending = PendingRequest(head: head, behaviour: behaviour)
            }
        case .body(let buffer):
            pending?.body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let pending = pending.take() else { return }
            let request = Self.request(pending.head, body: pending.body)
            server.record(request)
            perform(pending.behaviour, request: request, head: pending.head, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stall?.cancel()
        stall = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A client that resets its side, or a broken request: nothing to answer, just let go.
        context.close(promise: nil)
    }

    private func perform(
        _ behaviour: TestHTTPBehaviour,
        request: TestHTTPRequest,
        head: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        switch behaviour {
        case .respond(let status, let headers, let body):
            respond(status: status, headers: headers, body: Array(body.utf8), head: head, context: context)
        case .respondBytes(let status, let headers, let body):
            respond(status: status, headers: headers, body: body, head: head, context: context)
        case .echo:
            let headers = [("x-echo-method", request.method), ("x-echo-path", request.path)]
            respond(status: 200, headers: headers, body: request.body, head: head, context: context)
        case .stall(let duration, let then):
            // scheduleTask, not a sleeping task: the event loop stays free for other connections.
            stall = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(duration)) {
                self.stall = nil
                guard context.channel.isActive else { return }
                self.perform(then, request: request, head: head, context: context)
            }
        case .stallBody(let duration, let status, let body):
            var fields = HTTPHeaders([("content-length", String(body.utf8.count))])
            if !head.isKeepAlive { fields.add(name: "connection", value: "close") }
            let responseHead = HTTPResponseHead(
                version: head.version,
                status: HTTPResponseStatus(statusCode: status),
                headers: fields
            )
            context.writeAndFlush(wrapOutboundOut(.head(responseHead)), promise: nil)
            stall = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(duration)) {
                self.stall = nil
                guard context.channel.isActive else { return }
                context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        case .reset:
            drop(context: context, reset: true)
        case .close:
            drop(context: context, reset: false)
        }
    }

    private func respond(
        status: Int,
        headers: [(String, String)],
        body: [UInt8],
        head: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        var fields = HTTPHeaders(headers)
        let status = HTTPResponseStatus(statusCode: status)
        if !fields.contains(name: "content-length") && Self.mayHaveContent(status) {
            fields.add(name: "content-length", value: String(body.count))
        }
        let closeAfter = !head.isKeepAlive || fields[canonicalForm: "connection"].contains("close")
        if closeAfter && !fields.contains(name: "connection") {
            fields.add(name: "connection", value: "close")
        }
        let responseHead = HTTPResponseHead(version: head.version, status: status, headers: fields)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if !body.isEmpty && head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if closeAfter {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// Closes the connection without an answer; with `reset`, `SO_LINGER` 0 makes the close send a TCP
    /// RST instead of a FIN.
    private func drop(context: ChannelHandlerContext, reset: Bool) {
        isDropped = true
        pending = nil
        guard reset, let socket = context.channel as? any SocketOptionProvider else {
            context.close(promise: nil)
            return
        }
        socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private static func request(_ head: HTTPRequestHead, body: [UInt8]) -> TestHTTPRequest {
        TestHTTPRequest(
            method: head.method.rawValue,
            uri: head.uri,
            headers: head.headers.map { ($0.name, $0.value) },
            body: body,
            receivedAt: .now
        )
    }

    /// RFC 9110 §8.6: 1xx, 204 and 304 answers carry no content and no `content-length` to speak of.
    private static func mayHaveContent(_ status: HTTPResponseStatus) -> Bool {
        switch status.code {
        case 100..<200, 204, 304: false
        default: true
        }
    }
}
