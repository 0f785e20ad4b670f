/// The protocol the agent speaks to an upstream's endpoints (`upstreams.NAME.protocol`).
///
/// It decides how an answer is classified (an HTTP status or a gRPC status) and how the remaining time
/// is sent on (`x-levee-timeout-ms` or `grpc-timeout`, DESIGN.md "Deadlines").
public enum UpstreamProtocol: String, Sendable, Hashable, CaseIterable {
    /// HTTP/1.1, or HTTP/2 when `tls` is on and ALPN agrees. The default.
    case http
    /// gRPC over HTTP/2.
    case grpc
}
