import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1

/// What the proxy listener's connections share: the upstreams and the request body limit.
struct ProxyService: Sendable {
    let registry: UpstreamRegistry
    /// `listen.max_request_body`.
    let maxRequestBody: Int

    /// Makes the guarded call `request` asks for and answers it; an unknown upstream is 404 naming the
    /// configured ones.
    func answer(_ request: ProxyRequest) async -> ProxyAnswer {
        do {
            return ProxyAnswer(try await call(request))
        } catch {
            let message = error.message.hasPrefix("upstream: ") ? String(error.message.dropFirst(10)) : error.message
            let host = request.nameWithPort ?? request.name
            switch error.code {
            case .notFound:
                return .refusal(.notFound, "Host \(host.debugDescription): \(message)")
            case .invalidArgument:
                return .refusal(.badRequest, "Host \(host.debugDescription): \(message)")
            case .failedPrecondition:
                return .refusal(.badGateway, "Host \(host.debugDescription): \(message)")
            }
        }
    }

    /// The call, on the upstream named by the `Host` header's name, else (when it has a port) on the
    /// dynamic upstream `host:port`.
    private func call(_ request: ProxyRequest) async throws(UpstreamLookupError) -> CallResult {
        do {
            return try await registry.withRuntime(named: request.name, protocolKind: .http) {
                await $0.call(.http(request.request), options: request.options)
            }
        } catch  where error.code == .notFound && request.nameWithPort != nil {
            return try await registry.withRuntime(named: request.nameWithPort!, protocolKind: .http) {
                await $0.call(.http(request.request), options: request.options)
            }
        }
    }
}
