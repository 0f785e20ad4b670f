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
/// drops before it forwards a message: these, every header the `connection` header names, and
/// `content-length` (the sender sets its own).
enum HopByHopHeaders {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authenticate", "proxy-authorization", "content-length",
    ]

    /// Whether `name` is one of ``names``, in any case. Only names of those lengths are lowered.
    static func isDropped(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2, 7, 10, 14, 16, 17, 18, 19: names.contains(name.lowercased())
        default: false
        }
    }

    /// Removes what ``isDropped`` names and every header the `connection` header names. One pass
    /// over the headers when there is nothing to remove.
    static func strip(_ headers: inout HTTPHeaders) {
        guard headers.contains(where: { isDropped($0.name) }) else { return }
        var named: Set<String> = []
        for value in headers[canonicalForm: "connection"] {
            named.insert(value.lowercased())
        }
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count)
        for (name, value) in headers where !isDropped(name) && (named.isEmpty || !named.contains(name.lowercased())) {
            kept.add(name: name, value: value)
        }
        headers = kept
    }
}
