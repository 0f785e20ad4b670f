public import LeveeAPI
public import LeveeConfiguration
public import LeveePolicy

/// One request to an upstream, as the app sent it through the Guard API or the proxy listener.
public enum UpstreamRequest: Sendable {
    case http(HTTPUpstreamRequest)
    case grpc(Levee_V1_GrpcRequest)

    /// The protocol this request needs its upstream to speak.
    public var protocolKind: UpstreamProtocol {
        switch self {
        case .http: .http
        case .grpc: .grpc
        }
    }
}

/// One upstream answer: HTTP as it came, gRPC in the shape the Guard API returns it.
public enum UpstreamResponse: Sendable {
    case http(HTTPUpstreamResponse)
    case grpc(Levee_V1_GrpcResponse)
}

/// How one attempt ended, before the outcome classifier has judged it.
public enum AttemptResult: Sendable {
    /// The upstream answered; `status` is what the classifier judges, `pushback` what the upstream said
    /// about retrying (`Retry-After`, `grpc-retry-pushback-ms`).
    case answered(UpstreamResponse, status: UpstreamStatus, pushback: ServerPushback?)
    /// No answer: the transport failed in the way `failure` says; `detail` is for the human.
    case failed(TransportFailure, detail: String)
}

/// Makes single attempts at an upstream's endpoints. The upstream runtime decides everything else
/// (which endpoint, how long, whether to retry); an executor only sends, waits and reports.
public protocol UpstreamExecutor: Sendable {
    /// Sends `request` to `endpoint` and waits at most `timeout` for the whole answer. `remaining` is
    /// the time left before the call's deadline, propagated to the upstream (`grpc-timeout`,
    /// `x-levee-timeout-ms`). Never throws: every failure is an `AttemptResult`.
    func execute(
        _ request: UpstreamRequest,
        on endpoint: EndpointAddress,
        timeout: Duration,
        remaining: Duration
    ) async -> AttemptResult

    /// Closes the executor's connections. Calls in progress may fail.
    func shutdown() async
}
