public import GRPCCore

/// A unary call that a ``TestGRPCServer`` received.
public struct TestGRPCRequest: Sendable {
    /// `<fully qualified service>/<method>`, e.g. `test.Echo/Echo`.
    public var method: String
    /// Every header of the call as the handler sees it. With grpc-swift-nio-transport 2.9 that is all of
    /// them: the pseudo-headers (`:path`, `:authority`, …), `content-type`, `te`, `user-agent`, the
    /// caller's custom metadata, and `grpc-timeout` when the client set a deadline.
    public var metadata: Metadata
    /// The request message's bytes.
    public var message: [UInt8]
    /// The deadline the client propagated: `grpc-timeout` decoded, nil when the call had none. It is the
    /// time the client had left when it sent the call, so at most the caller's timeout.
    public var timeout: Duration?
    /// When the handler received the call.
    public var receivedAt: ContinuousClock.Instant

    public init(
        method: String,
        metadata: Metadata,
        message: [UInt8],
        timeout: Duration?,
        receivedAt: ContinuousClock.Instant
    ) {
        self.method = method
        self.metadata = metadata
        self.message = message
        self.timeout = timeout
        self.receivedAt = receivedAt
    }

    /// The first string value of metadata key `name`; nil when absent. The lookup is exact, and HTTP/2
    /// delivers every key in lower case.
    public func metadataValue(_ name: String) -> String? {
        metadata[stringValues: name].first { _ in true }
    }
}
