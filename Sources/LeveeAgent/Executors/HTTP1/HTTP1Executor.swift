public import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1
public import NIOPosix

/// Sends plain-HTTP requests (`tls: false`) over SwiftNIO's HTTP/1.1 codec: keep-alive connection
/// pools per endpoint and per event loop, bodies as `ByteBuffer`s from end to end, no URL built and
/// parsed again.
///
/// A request made on one of the group's event loops (a ``LoopCall`` of the proxy listener or the Guard
/// server, or a Guard handler's task) goes out on a connection of that same loop, and its answer is
/// read there: no thread hop. A request made elsewhere (a health check) is handed to a loop.
///
/// A refused connect fails the attempt at once (no retry inside the executor: the runtime retries on
/// another endpoint after its backoff). The connect timeout is the upstream's `timeouts.connect`, the
/// attempt's timeout bounds the whole exchange. TCP_QUICKACK after each request keeps an upstream that
/// writes head and body in two segments from stalling on the delayed ACK.
public final class HTTP1Executor: UpstreamExecutor {
    public struct Settings: Sendable {
        public var connectTimeout: Duration
        /// Idle connections kept per endpoint and per loop; more are closed when their answer ends.
        public var maxIdlePerEndpoint: Int
        /// The largest answer body buffered; a larger one fails the attempt.
        public var maxResponseBytes: Int

        public init(connectTimeout: Duration, maxIdlePerEndpoint: Int, maxResponseBytes: Int = 16 << 20) {
            self.connectTimeout = connectTimeout
            self.maxIdlePerEndpoint = max(1, maxIdlePerEndpoint)
            self.maxResponseBytes = maxResponseBytes
        }
    }

    private let group: MultiThreadedEventLoopGroup
    private let pools: [HTTP1ConnectionPool]

    public init(settings: Settings, group: MultiThreadedEventLoopGroup = .singleton) {
        self.group = group
        pools = group.makeIterator().map { HTTP1ConnectionPool(loop: $0, settings: settings) }
    }

    /// The pool of the loop the caller runs on, if it runs on one of the group's loops.
    private func currentPool() -> HTTP1ConnectionPool? {
        guard let current = MultiThreadedEventLoopGroup.currentEventLoop else { return nil }
        return pools.first { $0.loop === current }
    }

    /// The pool of the loop the caller runs on, or of the group's next loop.
    private func pool() -> HTTP1ConnectionPool {
        if let pool = currentPool() { return pool }
        let next = group.next()
        return pools.first { $0.loop === next } ?? pools[0]
    }

    public func execute(
        _ request: UpstreamRequest,
        on endpoint: EndpointAddress,
        timeout: Duration,
        remaining: Duration
    ) async -> AttemptResult {
        guard case .http(let http) = request else {
            return .failed(.connectFailure, detail: "a gRPC request cannot be sent to an HTTP upstream")
        }
        let pool = pool()
        let loop = pool.loop
        let exchange = HTTP1Exchange(promise: loop.makePromise())
        if loop.inEventLoop {
            pool.execute(http, on: endpoint, timeout: timeout, remaining: remaining, exchange: exchange)
        } else {
            loop.execute {
                pool.execute(http, on: endpoint, timeout: timeout, remaining: remaining, exchange: exchange)
            }
        }
        return await withTaskCancellationHandler {
            do {
                return try await exchange.promise.futureResult.get()
            } catch {
                return .failed(.reset, detail: "connection failed: \(HTTP1Errors.describe(error))")
            }
        } onCancel: {
            loop.execute { exchange.cancel() }
        }
    }

    /// Starts an attempt on the pool of the event loop the caller runs on, for a caller that drives
    /// its call on that loop (``LoopCall``); nil when the caller is not on one of the group's loops.
    /// The exchange's future completes on that loop; cancelling the exchange (on that loop) ends it.
    func startOnCurrentLoop(
        _ request: HTTPUpstreamRequest,
        on endpoint: EndpointAddress,
        timeout: Duration,
        remaining: Duration
    ) -> HTTP1Exchange? {
        guard let pool = currentPool() else { return nil }
        let exchange = HTTP1Exchange(promise: pool.loop.makePromise())
        pool.execute(request, on: endpoint, timeout: timeout, remaining: remaining, exchange: exchange)
        return exchange
    }

    public func shutdown() async {
        for pool in pools {
            try? await pool.loop.submit { pool.shutdown() }.get()
        }
    }
}
