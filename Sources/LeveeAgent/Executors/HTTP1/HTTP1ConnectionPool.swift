import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1
import NIOPosix

/// One event loop's keep-alive HTTP/1.1 connections to the endpoints of one upstream.
///
/// Touched only on its loop: a request made there finds an idle connection of that loop (the most
/// recently used first) or opens one, so the app's connection, the upstream's and the call between
/// them run on one thread. No timer runs for an idle connection: one the upstream closed leaves the
/// pool when its close is read.
///
/// `@unchecked Sendable`: made on any thread, every other use is on `loop` (asserted).
final class HTTP1ConnectionPool: @unchecked Sendable {
    let loop: any EventLoop
    private let settings: HTTP1Executor.Settings
    private var idle: [EndpointAddress: [HTTP1ConnectionHandler]] = [:]
    /// Every open connection, busy or idle, for shutdown.
    private var open: [ObjectIdentifier: HTTP1ConnectionHandler] = [:]
    private var isShutDown = false
    /// The exchanges in flight, each with its deadline, and the pool's one timer for them, armed for
    /// the earliest deadline it has seen. An exchange that ends leaves the list at once; the timer is
    /// not moved for it, so a busy pool costs no timer work per request.
    private var watched: [HTTP1Exchange] = []
    private var timer: Scheduled<Void>?
    private var timerAt = NIODeadline.distantFuture

    init(loop: any EventLoop, settings: HTTP1Executor.Settings) {
        self.loop = loop
        self.settings = settings
    }

    /// Sends `request` to `endpoint` and completes `exchange` with the answer, or with why there is
    /// none, within `timeout`.
    func execute(
        _ request: HTTPUpstreamRequest,
        on endpoint: EndpointAddress,
        timeout: Duration,
        remaining: Duration,
        exchange: HTTP1Exchange
    ) {
        loop.assertInEventLoop()
        guard !isShutDown else {
            exchange.finish(.failed(.connectFailure, detail: "the agent is shutting down its upstream connections"))
            return
        }
        let head = Self.head(for: request, endpoint: endpoint, remaining: remaining)
        watch(exchange, until: .now() + .nanoseconds(timeout.nanoseconds))
        if let connection = takeIdle(endpoint) {
            exchange.connection = connection
            connection.send(head, body: request.body, exchange: exchange)
            return
        }
        let maxBodyBytes = settings.maxResponseBytes
        let connectTimeout = min(settings.connectTimeout, timeout)
        let pool = self
        ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(max(1, connectTimeout.nanoseconds)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTP1ConnectionHandler(maxBodyBytes: maxBodyBytes))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard let handler = try? channel.pipeline.syncOperations.handler(type: HTTP1ConnectionHandler.self)
                    else {
                        channel.close(promise: nil)
                        exchange.finish(.failed(.connectFailure, detail: "connect to \(endpoint) failed"))
                        return
                    }
                    pool.adopt(handler, endpoint: endpoint)
                    if exchange.isFinished {
                        // Timed out or cancelled while connecting: keep the connection for the next.
                        pool.release(handler, endpoint: endpoint)
                    } else {
                        exchange.connection = handler
                        handler.send(head, body: request.body, exchange: exchange)
                    }
                case .failure(let error):
                    exchange.finish(
                        .failed(
                            .connectFailure,
                            detail: "connect to \(endpoint) failed: \(HTTP1Errors.describe(error))"
                        )
                    )
                }
            }
    }

    /// Closes every connection; later requests fail at once.
    func shutdown() {
        loop.assertInEventLoop()
        isShutDown = true
        idle = [:]
        for connection in open.values { connection.close() }
    }

    /// Fails `exchange` as timed out (and closes its connection) if it has not ended by `deadline`.
    private func watch(_ exchange: HTTP1Exchange, until deadline: NIODeadline) {
        guard !exchange.isFinished else { return }
        exchange.deadline = deadline
        exchange.watcher = self
        exchange.watchSlot = watched.count
        watched.append(exchange)
        if deadline < timerAt { arm(at: deadline) }
    }

    /// `exchange` has ended: out of the list, in O(1) (the last one takes its place).
    func unwatch(_ exchange: HTTP1Exchange) {
        loop.assertInEventLoop()
        let slot = exchange.watchSlot
        let last = watched.removeLast()
        if last !== exchange {
            watched[slot] = last
            last.watchSlot = slot
        }
    }

    private func arm(at deadline: NIODeadline) {
        timer?.cancel()
        timerAt = deadline
        timer = loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in expire() }
    }

    /// The timer fired: the exchanges whose deadline has passed time out, and the timer is armed
    /// again for the earliest deadline left.
    private func expire() {
        timer = nil
        timerAt = .distantFuture
        let now = NIODeadline.now()
        for exchange in watched.filter({ $0.deadline <= now }) { exchange.timeOut() }
        if let next = watched.lazy.map(\.deadline).min() { arm(at: next) }
    }

    private func takeIdle(_ endpoint: EndpointAddress) -> HTTP1ConnectionHandler? {
        while let connection = idle[endpoint]?.popLast() {
            if !connection.isClosed { return connection }
        }
        return nil
    }

    private func adopt(_ handler: HTTP1ConnectionHandler, endpoint: EndpointAddress) {
        open[ObjectIdentifier(handler)] = handler
        handler.onIdle = { [self] handler in release(handler, endpoint: endpoint) }
        handler.onClosed = { [self] handler in
            open[ObjectIdentifier(handler)] = nil
            if let index = idle[endpoint]?.firstIndex(where: { $0 === handler }) {
                idle[endpoint]?.remove(at: index)
            }
        }
        if isShutDown { handler.close() }
    }

    /// Puts a connection whose answer ended back in the pool (or closes it when the pool is full).
    private func release(_ handler: HTTP1ConnectionHandler, endpoint: EndpointAddress) {
        guard !isShutDown, !handler.isClosed else {
            handler.close()
            return
        }
        if idle[endpoint, default: []].count >= settings.maxIdlePerEndpoint {
            handler.close()
        } else {
            idle[endpoint, default: []].append(handler)
        }
    }

    /// The request's head as it goes to the upstream: hop-by-hop headers dropped, `host` set when the
    /// app did not, `content-length` for the body, and the time left in `x-levee-timeout-ms`.
    static func head(
        for request: HTTPUpstreamRequest,
        endpoint: EndpointAddress,
        remaining: Duration
    ) -> HTTPRequestHead {
        var headers = request.headers
        HopByHopHeaders.strip(&headers)
        if !headers.contains(name: "host") {
            headers.add(name: "host", value: endpoint.description)
        }
        headers.replaceOrAdd(name: LeveeTimeoutHeader.name, value: LeveeTimeoutHeader.value(remaining: remaining))
        let length = request.body?.readableBytes ?? 0
        if length > 0 || Self.sendsLengthWithoutBody(request.method) {
            headers.add(name: "content-length", value: String(length))
        }
        return HTTPRequestHead(version: .http1_1, method: request.method, uri: request.target, headers: headers)
    }

    /// Whether a request without a body says `content-length: 0`: those whose method expects one
    /// (RFC 9110 §8.6).
    private static func sendsLengthWithoutBody(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH: true
        default: false
        }
    }
}
