import Foundation
import LeveeAPI
import LeveeConfiguration
import LeveePolicy

extension UpstreamRequest {
    /// What decides whether the request may be repeated: its HTTP method, or its gRPC method (which
    /// `retry.idempotent_methods` may list).
    enum Idempotency {
        case method(String)
        case grpcMethod(String)
    }

    var idempotency: Idempotency {
        switch self {
        case .http(let http): .method(http.method.isEmpty ? "GET" : http.method.uppercased())
        case .grpc(let grpc): .grpcMethod(grpc.method)
        }
    }

    /// The stale-fallback key: the app's, or "METHOD path" for reads, or the gRPC method and message;
    /// nil for an HTTP request that is not a read.
    func cacheKey(explicit: String) -> String? {
        if !explicit.isEmpty { return explicit }
        switch self {
        case .http(let http):
            let method = http.method.isEmpty ? "GET" : http.method.uppercased()
            guard method == "GET" || method == "HEAD" else { return nil }
            return "\(method) \(http.path)"
        case .grpc(let grpc):
            return "\(grpc.method) \(grpc.message.base64EncodedString())"
        }
    }

    /// An active health check's request: `GET path` with Levee's user agent, or
    /// `grpc.health.v1.Health/Check` for `service`.
    static func healthCheck(_ settings: HealthCheckConfiguration, protocolKind: UpstreamProtocol) -> UpstreamRequest {
        switch protocolKind {
        case .http:
            var http = Levee_V1_HttpRequest()
            http.method = "GET"
            http.path = settings.path
            var userAgent = Levee_V1_Header()
            userAgent.name = "user-agent"
            userAgent.value = "levee-health-check"
            http.headers = [userAgent]
            return .http(http)
        case .grpc:
            var grpc = Levee_V1_GrpcRequest()
            grpc.method = GRPCHealthCheck.method
            grpc.message = Data(GRPCHealthCheck.request(service: settings.service))
            return .grpc(grpc)
        }
    }
}

extension UpstreamResponse {
    /// The configured fixed answer (`fallback.static`), in the upstream's protocol.
    init(staticFallback answer: StaticFallbackConfiguration, protocolKind: UpstreamProtocol) {
        switch protocolKind {
        case .http:
            var http = Levee_V1_HttpResponse()
            http.status = UInt32(clamping: answer.status)
            http.headers = answer.headers.map { field in
                var header = Levee_V1_Header()
                header.name = field.name
                header.value = field.value
                return header
            }
            http.body = Data(answer.body)
            self = .http(http)
        case .grpc:
            var grpc = Levee_V1_GrpcResponse()
            grpc.code = UInt32(clamping: answer.grpcCode)
            grpc.message = answer.grpcMessage
            grpc.body = Data(answer.body)
            self = .grpc(grpc)
        }
    }

    /// A health check's verdict on this answer: `HealthCheckResult.passed` for a 2xx, or gRPC `SERVING`.
    var healthCheckResult: HealthCheckResult {
        switch self {
        case .http(let response):
            return (200..<300).contains(response.status) ? .passed : .failed(detail: "status \(response.status)")
        case .grpc(let response):
            guard response.code == 0 else {
                let message = response.message.isEmpty ? "" : ": \(response.message)"
                return .failed(detail: "gRPC status \(GRPCHealthCheck.codeName(response.code))\(message)")
            }
            switch GRPCHealthCheck.servingStatus(decoding: [UInt8](response.body)) {
            case .some(1): return .passed
            case .some(let status): return .failed(detail: GRPCHealthCheck.statusName(status))
            case nil: return .failed(detail: "an answer that is not a HealthCheckResponse")
            }
        }
    }
}

extension AttemptResult {
    /// What the policy needs of this result.
    var report: AttemptReport {
        switch self {
        case .answered(_, let status, let pushback): .answered(status, pushback: pushback)
        case .failed(let failure, _): .failed(failure)
        }
    }
}
