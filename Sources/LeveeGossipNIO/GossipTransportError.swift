/// Why the transport could not do what it was asked.
public struct GossipTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public enum Code: String, Hashable, Sendable {
        /// `run()` was called on a transport that already ran.
        case alreadyRunning
        /// The transport is not serving (never started, or shut down).
        case notRunning
        /// No port could be bound for both UDP and TCP.
        case bindFailed
        /// An encoded datagram is larger than the send budget (`maxOutboundPacketBytes`).
        case packetTooLarge
        /// A stream exchange did not finish before its deadline (memberlist `TCPTimeout`).
        case timeout
        /// The peer closed the stream before a whole message arrived.
        case streamEnded
        /// The peer answered a stream exchange with an `err` message (memberlist net.go `errResp`).
        case remoteError
    }

    public var code: Code
    /// A human description of what went wrong.
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
