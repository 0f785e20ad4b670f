/// A request that a ``TestHTTPServer`` received, as the test wants to check it.
public struct TestHTTPRequest: Sendable {
    /// `GET`, `POST`, …
    public var method: String
    /// The request target as sent: path and query.
    public var uri: String
    /// The header fields in the order they arrived; names as sent. Use ``header(_:)`` to look one up.
    public var headers: [(String, String)]
    /// The body; empty when the server reset or closed the connection at the head.
    public var body: [UInt8]
    /// When the server had read the request (the head, for `.reset` and `.close`).
    public var receivedAt: ContinuousClock.Instant

    public init(
        method: String,
        uri: String,
        headers: [(String, String)],
        body: [UInt8],
        receivedAt: ContinuousClock.Instant
    ) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
    }

    /// The target without its query.
    public var path: String { Self.path(of: uri) }

    /// The body decoded as UTF-8 (invalid bytes repaired).
    public var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// The first value of the header field `name`, compared case-insensitively as HTTP says (RFC 9110
    /// §5.1); nil when absent.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.0.lowercased() == lowered }?.1
    }

    /// Every value of the header field `name`, in order.
    public func headers(named name: String) -> [String] {
        let lowered = name.lowercased()
        return headers.filter { $0.0.lowercased() == lowered }.map(\.1)
    }

    static func path(of uri: String) -> String {
        if let query = uri.firstIndex(of: "?") { return String(uri[..<query]) }
        return uri
    }
}
