/// The `fallback.static` section: a fixed answer given when a call fails and no stale response is at
/// hand (DESIGN.md "Fallback").
///
/// An HTTP upstream's fallback is `status`, `headers` and `body`; a gRPC upstream's is `grpc_code`,
/// `grpc_message` and `body` (the serialized response message).
public struct StaticFallbackConfiguration: Sendable, Hashable {
    /// The HTTP status of the answer (`status`, default 200), 200-599.
    public var status: Int
    /// The HTTP header fields of the answer (`headers`, a mapping of name to value), in file order.
    public var headers: [HeaderField]
    /// The body of the answer (`body`, a string written as UTF-8; default empty).
    public var body: [UInt8]
    /// The gRPC status code of the answer (`grpc_code`, default 0, OK), 0-16.
    public var grpcCode: Int
    /// The gRPC status message of the answer (`grpc_message`, default empty).
    public var grpcMessage: String

    public init(
        status: Int = 200,
        headers: [HeaderField] = [],
        body: [UInt8] = [],
        grpcCode: Int = 0,
        grpcMessage: String = ""
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.grpcCode = grpcCode
        self.grpcMessage = grpcMessage
    }

    /// An empty 200 answer, gRPC status OK.
    public static let defaults = StaticFallbackConfiguration()

    /// The HTTP statuses a fallback may answer with: a final status (RFC 9110 §15), not 1xx.
    public static let validStatuses: ClosedRange<Int> = 200...599

    /// The largest body accepted: a fallback is held in memory for every upstream that has one.
    public static let maximumBodySize = 1 << 20
}
