public import LeveeGossip
public import NIOCore

/// How a `GossipTransport` binds, frames and protects its traffic.
///
/// The defaults are memberlist's LAN defaults (memberlist config.go `DefaultLANConfig`): a 10 s
/// `TCPTimeout`, a 1400-byte `UDPBufferSize` send budget, compression on.
public struct GossipTransportConfiguration: Sendable {
    /// The address both sockets bind to. Port 0 picks a free port for UDP and binds TCP to the same
    /// one (memberlist net_transport.go `NewNetTransport` binds both on one port).
    public var bindAddress: SocketAddress
    /// Encrypts every datagram and stream when set (memberlist security.go, keyring.go).
    public var keyring: Keyring?
    /// With a keyring, drop plaintext datagrams and refuse plaintext streams (memberlist
    /// `GossipVerifyIncoming`, default true).
    public var verifyIncoming: Bool
    /// How outbound datagrams are wrapped unless a send says otherwise. Compression is kept only when
    /// it makes the datagram smaller (memberlist net.go `sendMsg`).
    public var packetOptions: PacketEncodeOptions
    /// Compress outbound stream messages; memberlist does so unconditionally when compression is on
    /// (net.go `rawSendMsgStream`).
    public var compressStreams: Bool
    /// The largest datagram `send` puts on the wire, after compression, CRC and encryption
    /// (memberlist `UDPBufferSize`, 1400).
    public var maxOutboundPacketBytes: Int
    /// Larger inbound datagrams are dropped and counted; memberlist reads into a 65 536-byte buffer
    /// (net_transport.go `udpPacketBufSize`).
    public var maxInboundPacketBytes: Int
    /// The deadline of one whole TCP exchange, inbound or outbound (memberlist `TCPTimeout`).
    public var streamTimeout: Duration
    /// Bounds on what the decoders accept; `maxStreamBytes` caps one inbound stream message
    /// (memberlist net.go `maxPushStateBytes`, 20 MiB).
    public var limits: DecodeLimits
    /// How many received datagrams may wait for the consumer of `inboundPackets`; more are dropped
    /// and counted, as a full UDP socket buffer would drop them.
    public var inboundPacketBufferSize: Int
    /// How often binding port 0 is retried when TCP cannot take the port UDP was given.
    public var bindAttempts: Int
    /// Inbound streams served at once; more are closed unread and counted, so that a peer opening
    /// connections without end costs a socket each, not a task and a buffer each (memberlist net.go
    /// `maxPushPullRequests`, 128).
    public var maxConcurrentStreams: Int

    public init(
        bindAddress: SocketAddress,
        keyring: Keyring? = nil,
        verifyIncoming: Bool = true,
        packetOptions: PacketEncodeOptions = PacketEncodeOptions(compress: true),
        compressStreams: Bool = true,
        maxOutboundPacketBytes: Int = 1400,
        maxInboundPacketBytes: Int = 65_536,
        streamTimeout: Duration = .seconds(10),
        limits: DecodeLimits = .defaults,
        inboundPacketBufferSize: Int = 1024,
        bindAttempts: Int = 16,
        maxConcurrentStreams: Int = 128
    ) {
        self.bindAddress = bindAddress
        self.keyring = keyring
        self.verifyIncoming = verifyIncoming
        self.packetOptions = packetOptions
        self.compressStreams = compressStreams
        self.maxOutboundPacketBytes = maxOutboundPacketBytes
        self.maxInboundPacketBytes = maxInboundPacketBytes
        self.streamTimeout = streamTimeout
        self.limits = limits
        self.inboundPacketBufferSize = inboundPacketBufferSize
        self.bindAttempts = bindAttempts
        self.maxConcurrentStreams = maxConcurrentStreams
    }
}
