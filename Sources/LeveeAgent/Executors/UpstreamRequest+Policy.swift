import Foundation
import LeveeAPI
import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1

extension UpstreamRequest {
    /// What decides whether the request may be repeated: its HTTP method, or its gRPC method (which
    /// `retry.idempotent_methods` may list).
    enum Idempotency {
        case method(String)
        case grpcMethod(String)
    }

    var idempotency: Idempotency {
        switch self {
        case .http(let http): .method(http.method.rawValue)
        case .grpc(let grpc): .grpcMethod(grpc.method)
        }
    }

    /// The stale-fallback key: the app's, or "METHOD path" for reads, or the gRPC method and message;
    /// nil for an HTTP request that is not a read.
    func cacheKey(explicit: String) -> String? {
        if !explicit.isEmpty { return explicit }
        switch self {
        case .http(let http):
            guard http.method == .GET || http.method == .HEAD else { return nil }
            return "\(http.method.rawValue) \(http.target)"
        case .grpc(let grpc):
            return "\(grpc.method) \(grpc.message.base64EncodedString())"
        }
    }

    /// An active health check's request: `GET path` with Levee's user agent, or
    /// `grpc.health.v1.Health/Check` for `service`.
    static func healthCheck(_ settings: HealthCheckConfiguration, protocolKind: UpstreamProtocol) -> UpstreamRequest {
        switch protocolKind {
        case .http:
            return .http(
                HTTPUpstreamRequest(method: .GET, target: settings.path, headers: ["user-agent": "levee-health-check"])
            )
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
            self = .http(
                HTTPUpstreamResponse(
                    status: HTTPResponseStatus(statusCode: answer.status),
                    headers: HTTPHeaders(answer.headers.map { ($0.name, $0.value) }),
                    body: ByteBuffer(bytes: answer.body)
                )
            )
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
            let code = Int(response.status.code)
            return (200..<300).contains(code) ? .passed : .failed(detail: "status \(code)")
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
