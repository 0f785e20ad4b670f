import NIOCore
import NIOPosix

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
