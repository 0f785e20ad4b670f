import NIOCore
import NIOPosix
import Synchronization

/// Raw bytes to a Unix socket, for checking what the agent does with garbage.
enum RawSocket {
    /// Connects to `path`, writes `bytes`, and closes. The agent may close the connection first (that is
    /// what it should do with garbage), so failures after the connect are not errors.
    static func sendAndClose(unixPath path: String, bytes: [UInt8]) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: path)
            .get()
        try? await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).get()
        try? await channel.close().get()
    }
}

/// A connection that sends raw bytes and keeps what comes back, for what the agent does with clients
/// that stall, trickle or send too much: open as long as the test holds it.
final class RawConnection: Sendable {
    let channel: any Channel
    private let collector: Collector

    /// Keeps the bytes the agent sends.
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLock { $0 += buffer.readableBytesView }
        }
    }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(unixPath path: String) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(unixDomainSocketPath: path)
            .get()
        return RawConnection(channel: channel, collector: collector)
    }

    static func connect(host: String, port: Int) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: host, port: port)
            .get()
        return RawConnection(channel: channel, collector: collector)
    }

    /// Writes `text`; a connection the agent has closed takes nothing (not an error).
    func send(_ text: String) async {
        try? await channel.writeAndFlush(channel.allocator.buffer(string: text)).get()
    }

    var isOpen: Bool { channel.isActive }

    /// What the agent has sent so far, as text.
    var received: String {
        String(decoding: collector.received.withLock { $0 }, as: UTF8.self)
    }

    func close() async {
        try? await channel.close().get()
    }
}
