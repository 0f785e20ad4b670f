import AsyncHTTPClient
import Foundation
import LeveeAPI
public import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Sends HTTP requests to TLS upstreams (`tls: true`) through AsyncHTTPClient: pooled keep-alive
/// connections, HTTP/2 where ALPN agrees. Plain-HTTP upstreams go through the leaner `HTTP1Executor`.
///
/// The upstream has one client per event loop, and a request goes through the client of the loop it
/// is made on. The Guard handlers run on the event loop of the app's connection
/// (`EventLoopTaskExecutor`), so a guarded call reads the app's request, sends the upstream request,
/// reads the answer and writes the reply on one thread, without waking another. Each client's pool
/// keeps up to the bulkhead's `max_concurrent` connections per endpoint; the bulkhead bounds how many
/// are busy at once.
///
/// Requests go through the delegate API, which buffers the whole response on the event loop and
/// answers once, within the attempt's deadline. The connect timeout is the upstream's
/// `timeouts.connect`. Redirects are not followed and bodies are not decompressed: the app gets what
/// the upstream said. Tracing is off: the agent reports what happened in `CallResponse` and metrics.
public final class AsyncHTTPClientExecutor: UpstreamExecutor {
    /// The largest response body the agent buffers; a larger one fails the attempt.
    public static let maxResponseBytes = 16 << 20

    private let configuration: HTTPClient.Configuration
    /// Made on first use on each loop, so that an executor that never sent anything needs no shutdown
    /// (an agent that fails to start, a runtime replaced before its first call).
    private let clients = Mutex<[ObjectIdentifier: HTTPClient]>([:])
    private let loops: MultiThreadedEventLoopGroup
    private let scheme: String

    /// - Parameter readTimeout: the longest silence while a response is read; the attempt's deadline
    ///   bounds the whole exchange.
    /// - Parameter tlsCAFile: certificate authorities to trust instead of the system's (PEM).
    public init(
        tls: Bool,
        tlsCAFile: String? = nil,
        connectTimeout: Duration,
        readTimeout: Duration,
        maxConnectionsPerEndpoint: Int
    ) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(
            connect: .nanoseconds(connectTimeout.nanoseconds),
            read: .nanoseconds(readTimeout.nanoseconds)
        )
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, maxConnectionsPerEndpoint)
        )
        // HTTP/2 when TLS and ALPN agree; cleartext is HTTP/1.1 (AsyncHTTPClient has no h2c).
        configuration.httpVersion = tls ? .automatic : .http1Only
        if tls {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if let tlsCAFile { tlsConfiguration.trustRoots = .file(tlsCAFile) }
            configuration.tlsConfiguration = tlsConfiguration
        }
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        // A span per request parses the URL again and costs about a tenth of the call.
        configuration.tracing.tracer = nil
        self.configuration = configuration
        loops = MultiThreadedEventLoopGroup.singleton
        scheme = tls ? "https" : "http"
    }

    /// The client of the event loop the caller runs on (any loop when it runs on none).
    private func client() -> HTTPClient {
        let loop = loops.any()
        return clients.withLock { clients in
            if let client = clients[ObjectIdentifier(loop)] { return client }
            let made = HTTPClient(eventLoopGroup: loop, configuration: configuration)
            clients[ObjectIdentifier(loop)] = made
            return made
        }
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
        var headers = http.headers
        HopByHopHeaders.strip(&headers)
        headers.replaceOrAdd(name: LeveeTimeoutHeader.name, value: LeveeTimeoutHeader.value(remaining: remaining))
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        do {
            let outbound = try HTTPClient.Request(
                url: "\(scheme)://\(endpoint)\(http.target.isEmpty ? "/" : http.target)",
                method: http.method,
                headers: headers,
                body: http.body.map { .byteBuffer($0) }
            )
            let task = client().execute(
                request: outbound,
                delegate: ResponseAccumulator(request: outbound, maxBodySize: Self.maxResponseBytes),
                deadline: deadline
            )
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            let answer = HTTPUpstreamResponse(
                status: response.status,
                headers: response.headers,
                body: response.body ?? ByteBuffer()
            )
            let pushback = ServerPushback(httpHeaders: response.headers)
            return .answered(.http(answer), status: .http(Int(response.status.code)), pushback: pushback)
        } catch {
            return Self.attemptResult(for: error)
        }
    }

    public func shutdown() async {
        let made = clients.withLock { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in made {
            try? await client.shutdown()
        }
    }

    /// What a client error says about the upstream: no connection (nothing was sent), a timeout, a
    /// broken connection, or the caller's cancellation.
    static func attemptResult(for error: any Error) -> AttemptResult {
        if error is CancellationError {
            return .failed(.cancelledByCaller, detail: "the call was cancelled")
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return .failed(.timeout, detail: "attempt timed out")
            case .connectTimeout, .tlsHandshakeTimeout, .socksHandshakeTimeout, .httpProxyHandshakeTimeout:
                return .failed(.connectFailure, detail: "connect timed out")
            case .cancelled:
                return .failed(.cancelledByCaller, detail: "the call was cancelled")
            default:
                return .failed(.reset, detail: "connection failed: \(error)")
            }
        }
        if let error = error as? NIOSSLError, case .handshakeFailed = error {
            // The TLS handshake comes before the request: nothing was sent.
            return .failed(.connectFailure, detail: "TLS handshake failed: \(error)")
        }
        if error is NIOConnectionError {
            return .failed(.connectFailure, detail: "connect failed: \(error)")
        }
        if let error = error as? ChannelError, error == .connectTimeout(.zero) || "\(error)".hasPrefix("connectTimeout")
        {
            return .failed(.connectFailure, detail: "connect timed out")
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL:
                return .failed(.connectFailure, detail: "connect failed: \(error)")
            default:
                return .failed(.reset, detail: "connection failed: \(error)")
            }
        }
        return .failed(.reset, detail: "connection failed: \(error)")
    }
}
