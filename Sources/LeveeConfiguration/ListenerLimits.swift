/// Limits on what a caller of the agent's listeners controls (`listen.max_*`, `listen.*_timeout`):
/// each has a safe default, each hit is counted (`levee_limit_hits_total{limit,socket}`) and answered
/// with an error that names its key. They take effect when the agent starts (a reload that changes
/// them says they wait for the next restart).
public struct ListenerLimits: Sendable, Hashable {
    /// The largest gRPC request message on the Guard and admin sockets (`listen.max_message_size`);
    /// a larger one is answered `RESOURCE_EXHAUSTED`.
    public var maxMessageSize = 16 << 20
    /// The most RPCs in flight on one gRPC connection (`listen.max_streams_per_connection`), announced
    /// to the client in HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS: a client queues the rest.
    public var maxStreamsPerConnection = 256
    /// The most connections open at once on each listener (`listen.max_connections`); one more is
    /// closed at once (on the HTTP listeners after a 503).
    public var maxConnections = 1024
    /// The largest request head (request line and headers) on the proxy and metrics listeners
    /// (`listen.max_header_size`); a larger one is answered 431.
    public var maxHeaderSize = 32 << 10
    /// The largest request body on the proxy and metrics listeners (`listen.max_request_body`); a
    /// larger one is answered 413.
    public var maxRequestBody = 1 << 20
    /// How long a connection may stay open with nothing in flight (`listen.idle_timeout`): a gRPC
    /// connection with no RPC, an HTTP connection between requests. It is then closed.
    public var idleTimeout = Duration.seconds(300)
    /// How long a request may take to arrive whole once its first byte has (`listen.read_timeout`):
    /// an HTTP request's head and body, a gRPC request up to its end of stream. It is then answered
    /// 408 (HTTP) or `DEADLINE_EXCEEDED` (gRPC) and its connection (HTTP) or stream (gRPC) closed.
    public var readTimeout = Duration.seconds(10)

    public init() {}

    /// The configuration keys, under `listen`.
    public static let keys = [
        "max_message_size", "max_streams_per_connection", "max_connections", "max_header_size", "max_request_body",
        "idle_timeout", "read_timeout",
    ]
}
