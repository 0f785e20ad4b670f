import LeveeGossip
import LeveeGossipNIO
import NIOCore
import Synchronization

/// The datagrams a running transport received, for bounded polls in tests.
final class PacketLog: Sendable {
    private let packets = Mutex<[InboundPacket]>([])

    func append(_ packet: InboundPacket) { packets.withLock { $0.append(packet) } }

    var all: [InboundPacket] { packets.withLock { $0 } }

    /// The first received packet that satisfies `condition`, polling at most `timeout`.
    func first(
        within timeout: Duration = .seconds(5),
        where condition: (InboundPacket) -> Bool
    ) async throws -> InboundPacket? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        repeat {
            if let packet = all.first(where: condition) { return packet }
            try await Task.sleep(for: .milliseconds(20))
        } while clock.now < deadline
        return all.first(where: condition)
    }
}

/// Runs a transport for the duration of `body`: `run()` in a child task, every received datagram
/// logged and passed to `onPacket`, shut down and awaited afterwards.
func withRunningTransport<Result>(
    _ configuration: GossipTransportConfiguration,
    streamResponder: @escaping GossipTransport.StreamResponder = { _, _ in nil },
    onPacket: @escaping @Sendable (InboundPacket, GossipTransport) async -> Void = { _, _ in },
    _ body: (GossipTransport, PacketLog) async throws -> Result
) async throws -> Result {
    let transport = GossipTransport(configuration: configuration, streamResponder: streamResponder)
    let log = PacketLog()
    return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
        group.addTask { try await transport.run() }
        group.addTask {
            for await packet in transport.inboundPackets {
                log.append(packet)
                await onPacket(packet, transport)
            }
        }
        do {
            _ = try await transport.localAddress()
            let result = try await body(transport, log)
            transport.shutdown()
            try await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

extension GossipTransportConfiguration {
    /// 127.0.0.1, a free port.
    static func loopback(keyring: Keyring? = nil) throws -> GossipTransportConfiguration {
        GossipTransportConfiguration(bindAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 0), keyring: keyring)
    }
}
