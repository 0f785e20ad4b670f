/// Where the agent listens (`listen`): two Unix-domain sockets, so that file permissions decide who
/// may call upstreams (`socket`, mode 0660) and who may manage the agent (`admin_socket`, mode 0600),
/// an HTTP listener for Prometheus and health probes (`http`), and the plain HTTP/1.1 proxy listener
/// for apps that call upstreams without a gRPC stub (`proxy` on TCP, `proxy_socket` on a Unix socket).
public struct ListenConfiguration: Sendable, Hashable {
    /// The Guard API socket (`listen.socket`): an absolute path.
    public var socket: String
    /// The Admin API socket (`listen.admin_socket`): an absolute path.
    public var adminSocket: String
    /// `host:port` of the HTTP listener for `/metrics`, `/healthz` and `/readyz` (`listen.http`), or
    /// nil when it is `off`. Port 0 takes an ephemeral port (tests).
    public var http: String?
    /// `host:port` of the HTTP proxy listener (`listen.proxy`), or nil when it is `off`. Port 0 takes
    /// an ephemeral port (tests).
    public var proxy: String?
    /// The proxy listener's Unix socket (`listen.proxy_socket`, mode 0660), if any: an absolute path.
    public var proxySocket: String?
    /// What serves the Guard API on `socket` (`listen.guard_server`): gRPC's C core unless the file
    /// says `grpc_swift`.
    public var guardServer = GuardServerKind.core
    /// Limits on what callers control: message, header and body sizes, streams and connections,
    /// idle and read timeouts (``ListenerLimits``).
    public var limits = ListenerLimits()
    /// Who may connect to the app-facing sockets (`listen.allow`: the Guard socket and the proxy
    /// listener's Unix socket) besides what their file mode says; nil lets in anyone the mode lets in.
    public var allow: PeerAllowList?
    /// Who may connect to the admin socket (`listen.admin_allow`); nil means the agent's own user and
    /// root (``PeerAllowList/agentUserAndRoot(uid:)``).
    public var adminAllow: PeerAllowList?

    /// The HTTP listener of the built-in defaults: loopback only, so that metrics are not exposed
    /// beyond the host unless the operator says so.
    public static let defaultHTTP = "127.0.0.1:9901"
    /// The proxy listener of the built-in defaults: loopback only, beside the metrics port.
    public static let defaultProxy = "127.0.0.1:9902"

    public init(
        socket: String,
        adminSocket: String,
        http: String? = ListenConfiguration.defaultHTTP,
        proxy: String? = ListenConfiguration.defaultProxy,
        proxySocket: String? = nil
    ) {
        self.socket = socket
        self.adminSocket = adminSocket
        self.http = http
        self.proxy = proxy
        self.proxySocket = proxySocket
    }

    /// Whether `other` listens on the same sockets and ports, whatever it says of who may connect
    /// (the allow lists take effect at a reload; the sockets only at a restart).
    public func sameListeners(as other: ListenConfiguration) -> Bool {
        var other = other
        other.allow = allow
        other.adminAllow = adminAllow
        return self == other
    }

    /// The longest socket path, in bytes: `sun_path` is 108 bytes on Linux, one of them the NUL.
    public static let maximumPathLength = 107

    /// The sockets of the built-in defaults: `levee.sock` and `admin.sock` in `$XDG_RUNTIME_DIR/levee/`
    /// when that is set (the per-user runtime directory of the XDG Base Directory spec), else in
    /// `/tmp/levee-$UID/`.
    ///
    /// `XDG_RUNTIME_DIR` is ignored when it is relative (the spec says to), or so long that the socket
    /// paths would not fit in `sun_path`: the agent must start with no configuration at all.
    public static func builtIn(environment: [String: String], uid: UInt32) -> ListenConfiguration {
        let fallback = "/tmp/levee-\(uid)"
        var directory = fallback
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            let trimmed = runtime.count > 1 && runtime.hasSuffix("/") ? String(runtime.dropLast()) : runtime
            let candidate = "\(trimmed == "/" ? "" : trimmed)/levee"
            if "\(candidate)/levee.sock".utf8.count <= maximumPathLength {
                directory = candidate
            }
        }
        return ListenConfiguration(socket: "\(directory)/levee.sock", adminSocket: "\(directory)/admin.sock")
    }
}

/// What serves the Guard API (`listen.guard_server`): the same contract either way (the one difference:
/// the core words a message over `listen.max_message_size` itself, "Received message larger than max
/// (N vs. M)"; both answer `RESOURCE_EXHAUSTED`).
public enum GuardServerKind: String, Sendable, Hashable, CaseIterable {
    /// grpc-swift-2 on SwiftNIO's HTTP/2.
    case grpcSwift = "grpc_swift"
    /// gRPC's C core (libgrpc), driven from one thread; `Ping` and `Release` answered on it. About a
    /// fifth of grpc-swift-2's CPU per RPC (`docs/benchmarks.md`).
    case core
}
