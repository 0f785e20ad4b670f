import LeveeGossipNIO
import NIOHTTP1

/// What the HTTP listener serves: `/metrics` (Prometheus text format 0.0.4), `/healthz` (200 while
/// the process runs) and `/readyz` (200 while serving, 503 while starting or draining). Other paths
/// are 404; methods other than GET and HEAD are 405.
struct HTTPRoutes: Sendable {
    let metrics: AgentMetrics
    let registry: UpstreamRegistry
    let gossip: GossipNode?
    let readiness: Readiness

    /// The content type of the Prometheus text exposition format.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    func answer(_ method: HTTPMethod, _ path: String) -> HTTPAnswer {
        guard ["/metrics", "/healthz", "/readyz"].contains(path) else {
            return HTTPAnswer(status: .notFound, "not found: try /metrics, /healthz or /readyz")
        }
        guard method == .GET || method == .HEAD else {
            var answer = HTTPAnswer(status: .methodNotAllowed, "method not allowed: GET or HEAD")
            answer.headers = [("allow", "GET, HEAD")]
            return answer
        }
        switch path {
        case "/metrics":
            return HTTPAnswer(
                status: .ok,
                contentType: Self.metricsContentType,
                body: metrics.render(registry: registry, gossip: gossip)
            )
        case "/healthz":
            return HTTPAnswer(status: .ok, "ok")
        default:
            switch readiness.current {
            case .serving: return HTTPAnswer(status: .ok, "ready")
            case .starting: return HTTPAnswer(status: .serviceUnavailable, "starting")
            case .draining: return HTTPAnswer(status: .serviceUnavailable, "draining: the agent is shutting down")
            }
        }
    }
}
