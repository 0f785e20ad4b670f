public import NIOCore
public import NIOHTTP1

/// One HTTP request for an upstream, as `Guard.Call`'s `http` or the proxy listener received it. The
/// body stays a `ByteBuffer` from the app's connection to the upstream's.
public struct HTTPUpstreamRequest: Sendable {
    public var method: HTTPMethod
    /// The request target: the path and query, starting with `/`.
    public var target: String
    /// The end-to-end headers to forward. The executor drops hop-by-hop ones and sets `host` (unless
    /// the app set it), `content-length` and `x-levee-timeout-ms` itself.
    public var headers: HTTPHeaders
    public var body: ByteBuffer?

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }
}

/// One HTTP answer from an upstream (or a fallback in its place).
public struct HTTPUpstreamResponse: Sendable {
    public var status: HTTPResponseStatus
    /// The upstream's headers, hop-by-hop ones included: whoever sends them on drops those.
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Headers that belong to one connection, not to the message (RFC 9110 §7.6.1), and what a proxy
/// drops before it forwards a message: these, and every header the `connection` header names.
enum HopByHopHeaders {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Removes the hop-by-hop headers of `headers`, and `content-length` (the sender sets its own).
    static func strip(_ headers: inout HTTPHeaders) {
        var named: [String] = []
        for value in headers[canonicalForm: "connection"] {
            named.append(value.lowercased())
        }
        headers.remove(name: "content-length")
        for name in names { headers.remove(name: name) }
        for name in named where !name.isEmpty { headers.remove(name: name) }
    }
}
