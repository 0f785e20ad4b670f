import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// A TLS server on 127.0.0.1 that speaks HTTP/2 when ALPN agrees and HTTP/1.1 otherwise, answering
/// every request `200 tls-ok`, and recording which HTTP version each request came in on: for checking
/// that the agent reaches `tls: true` upstreams over HTTP/2.
public final class TestTLSServer: Sendable {
    private let channel: any Channel
    private let recorder: Recorder

    /// The HTTP versions of the requests received so far ("2" or "1.1"), in order.
    public var requestVersions: [String] { recorder.versions.withLock { $0 } }

    public var port: Int { channel.localAddress?.port ?? 0 }

    /// `127.0.0.1:PORT`.
    public var address: String { "127.0.0.1:\(port)" }

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
    }

    /// Serves with the certificate chain and key in the PEM files given.
    public static func start(certificatePath: String, keyPath: String) async throws -> TestTLSServer {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain,
            privateKey: .privateKey(key)
        )
        configuration.applicationProtocols = ["h2", "http/1.1"]
        let context = try NIOSSLContext(configuration: configuration)
        let recorder = Recorder()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                }.flatMap {
                    channel.configureHTTP2SecureUpgrade(
                        h2ChannelConfigurator: { channel in
                            channel.configureHTTP2Pipeline(mode: .server) { stream in
                                stream.eventLoop.makeCompletedFuture {
                                    try stream.pipeline.syncOperations.addHandlers([
                                        HTTP2FramePayloadToHTTP1ServerCodec(),
                                        Responder(version: "2", recorder: recorder),
                                    ])
                                }
                            }.map { _ in }
                        },
                        http1ChannelConfigurator: { channel in
                            channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                                try channel.pipeline.syncOperations.addHandler(
                                    Responder(version: "1.1", recorder: recorder)
                                )
                            }
                        }
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestTLSServer(channel: channel, recorder: recorder)
    }

    /// Stops listening.
    public func stop() async throws {
        try await channel.close()
    }

    /// Where the handlers note each request's version.
    final class Recorder: Sendable {
        let versions = Mutex<[String]>([])
    }

    /// Answers every request `200 tls-ok` once it has arrived whole.
    final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let version: String
        let recorder: Recorder

        init(version: String, recorder: Recorder) {
            self.version = version
            self.recorder = recorder
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            recorder.versions.withLock { $0.append(version) }
            let body = context.channel.allocator.buffer(string: "tls-ok")
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "\(body.readableBytes)")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil
            )
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
