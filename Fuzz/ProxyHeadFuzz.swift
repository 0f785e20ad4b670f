// The `proxy` fuzz target: bytes from an app's connection → the proxy listener's pipeline, built by the
// listener's own `ProxyConnectionHandler.addServing` after the connection's `HTTPConnectionLimiter`
// (NIO's `HTTPRequestDecoder`, the real `ProxyConnectionHandler`, the response encoder) in an `EmbeddedChannel` → `ProxyRequest.parse` (option headers, Host and
// absolute-form targets, hop-by-hop headers) → the answer written back. The registry has no upstream,
// so a request that parses is answered 404 without a socket; the request it would have forwarded is
// also encoded as the HTTP/1.1 executor would send it. Compiled by scripts/fuzz-all into the
// LeveeAgent module.

import LeveeClock
import LeveeConfiguration
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// One connection's bytes, read in two writes (the first byte says where the second starts).
enum ProxyHeadFuzz {
    /// No upstream and no dynamic upstreams: every call is refused at once, on the connection's loop.
    private static let service: ProxyService = {
        var configuration = AgentConfiguration.builtIn(environment: [:], uid: 1000)
        configuration.dynamicUpstreams = false
        let registry = try! UpstreamRegistry(
            configuration: configuration,
            clock: MonotonicClock(),
            randomSeed: 1,
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }),
            clientRunner: GRPCClientRunner()
        )
        return ProxyService(registry: registry, maxRequestBody: limits.limits.maxRequestBody)
    }()

    /// Small limits, so that inputs reach the 413 and 431 answers.
    private static let limits: ListenerLimitState = {
        var limits = ListenerLimits()
        limits.maxHeaderSize = 2 << 10
        limits.maxRequestBody = 1 << 12
        return ListenerLimitState(
            socket: "proxy",
            limits: limits,
            metrics: AgentMetrics(),
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }()

    static func run(_ input: UnsafeRawBufferPointer) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        do {
            let runner = LoopCallRunner(loop: channel.eventLoop)
            runner.finish()
            let limiter = HTTPConnectionLimiter(state: limits)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(limiter)
            let handler = try ProxyConnectionHandler.addServing(
                to: pipeline,
                service: service,
                runner: runner,
                limiter: limiter
            )
            try pipeline.addHandler(ForwardedRequestEncoder(), position: .before(handler))
            let split = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
            for part in [input[..<split], input[split...]] where !part.isEmpty {
                try channel.writeInbound(ByteBuffer(bytes: part))
            }
            while try channel.readOutbound(as: ByteBuffer.self) != nil {}
        } catch {}
    }

    /// Passes every part on; for each request head, also encodes what `ProxyRequest.parse` would
    /// forward (headers only: the body is not read here).
    private final class ForwardedRequestEncoder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias InboundOut = HTTPServerRequestPart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data), case .call(let call) = ProxyRequest.parse(head, body: nil)
            {
                let endpoint =
                    EndpointAddress(parsing: call.nameWithPort ?? "") ?? EndpointAddress(host: call.name, port: 80)
                sendAsHTTP1Executor(call.request, to: endpoint, remaining: call.options.timeout ?? .seconds(30))
            }
            context.fireChannelRead(data)
        }
    }

    static var seeds: [[UInt8]] {
        [
            "GET /charges?limit=10 HTTP/1.1\r\nHost: payments\r\nx-levee-timeout-ms: 250\r\n"
                + "x-levee-priority: critical\r\nConnection: keep-alive, x-trace\r\nx-trace: 1\r\n\r\n",
            "POST http://orders:8080/orders HTTP/1.1\r\nContent-Length: 11\r\nIdempotency-Key: order-7\r\n"
                + "x-levee-cache-key: orders\r\nExpect: 100-continue\r\n\r\n{\"sku\":42}\n",
            "GET / HTTP/1.0\r\nHost: [::1]:9000\r\n\r\nHEAD /health HTTP/1.1\r\nHost: inventory\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ].map { Array($0.utf8) }
    }
}
