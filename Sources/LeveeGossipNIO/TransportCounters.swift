public import LeveeGossip

/// Why an inbound datagram was not delivered.
public enum PacketDropReason: Hashable, Sendable {
    /// Larger than `maxInboundPacketBytes`.
    case oversized
    /// The codec refused it: bad CRC, undecryptable, plaintext under `verifyIncoming`, malformed.
    case malformed(WireError.Code)
    /// `inboundPackets` had no room: its consumer is too slow.
    case backpressure
}

/// Why an inbound or outbound stream exchange failed.
public enum StreamFailureReason: Hashable, Sendable {
    /// The bytes did not decode (including decryption and size limits).
    case malformed(WireError.Code)
    /// No whole message before `streamTimeout`.
    case timeout
    /// The peer closed before a whole message arrived.
    case ended
    /// The peer answered with an `err` message.
    case remoteError
    /// Connecting, reading or writing failed at the socket level.
    case connection
    /// An inbound stream arrived while `maxConcurrentStreams` were being served: closed unread.
    case overloaded
}

/// A snapshot of what a transport has sent and received, for metrics and tests.
public struct TransportCounters: Hashable, Sendable {
    public var packetsReceived = 0
    public var bytesReceived = 0
    public var packetsSent = 0
    public var bytesSent = 0
    /// Inbound datagrams that were dropped, by reason.
    public var packetDrops: [PacketDropReason: Int] = [:]
    /// Inbound streams whose message was read and handed to the responder.
    public var streamsAccepted = 0
    /// Inbound streams being served right now (at most `maxConcurrentStreams`).
    public var streamsInProgress = 0
    /// Outbound stream exchanges or one-way sends that completed.
    public var streamsCompleted = 0
    /// Inbound and outbound streams that failed, by reason.
    public var streamFailures: [StreamFailureReason: Int] = [:]

    public init() {}

    /// Dropped datagrams that did not decode, whatever the codec's reason.
    public var packetDecodeFailures: Int {
        packetDrops.reduce(0) { total, entry in
            if case .malformed = entry.key { total + entry.value } else { total }
        }
    }

    /// Every failed stream, whatever the reason.
    public var streamFailureCount: Int { streamFailures.values.reduce(0, +) }
}
