public import LeveeGossip
public import NIOCore

/// One datagram that decoded: its messages, with the CRC, compression, compound and encryption
/// wrappers taken off (memberlist net.go `ingestPacket`), and the address it came from.
public struct InboundPacket: Sendable {
    public var messages: [Message]
    /// The sender's UDP address, which for memberlist peers is their member port.
    public var source: SocketAddress
    /// The datagram's size on the wire.
    public var byteCount: Int

    public init(messages: [Message], source: SocketAddress, byteCount: Int) {
        self.messages = messages
        self.source = source
        self.byteCount = byteCount
    }
}
