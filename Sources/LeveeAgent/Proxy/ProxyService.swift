import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1
import Synchronization

/// What the proxy listener's connections share: the upstreams, the request body limit, and the calls
/// in flight (so that a drain lets them answer).
///
/// Each call is a ``LoopCall`` on the event loop of the app's connection: without a task while it
/// only needs attempts, its answer written from the callback of its attempt's future.
final class ProxyService: Sendable {
    let registry: UpstreamRegistry
    /// `listen.max_request_body`.
    let maxRequestBody: Int
    private let inFlight = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    /// Rung while draining, when a call ends.
    private let ended = ChangeSignal()

    init(registry: UpstreamRegistry, maxRequestBody: Int) {
        self.registry = registry
        self.maxRequestBody = maxRequestBody
    }

    /// Makes the guarded call `request` asks for and hands its answer to `completion`, on the loop the
    /// caller runs on (`runner`'s). An unknown upstream is 404 naming the configured ones; once the
    /// listener drains, a new call is 503.
    func answer(
        _ request: ProxyRequest,
        runner: LoopCallRunner,
        completion: @escaping @Sendable (ProxyAnswer) -> Void
    ) {
        guard !draining.load(ordering: .relaxed) else {
            completion(.refusal(.serviceUnavailable, "the agent is shutting down"))
            return
        }
        let runtime: UpstreamRuntime
        do {
            runtime = try checkOut(request)
        } catch {
            completion(Self.refusal(error, request: request))
            return
        }
        inFlight.add(1, ordering: .relaxed)
        let call = LoopCall(
            runtime: runtime,
            progress: runtime.begin(.http(request.request), options: request.options),
            runner: runner
        ) { [self] result in
            registry.checkIn(runtime)
            // No result only when the agent is cancelled rather than drained: it is going away.
            completion(result.map(ProxyAnswer.init) ?? .refusal(.serviceUnavailable, "the agent is shutting down"))
            if inFlight.subtract(1, ordering: .relaxed).newValue == 0, draining.load(ordering: .relaxed) {
                ended.notify()
            }
        }
        call.step()
    }

    /// Takes no new calls, and returns once the calls in flight have answered.
    func drain() async {
        draining.store(true, ordering: .relaxed)
        while true {
            let version = ended.version
            if inFlight.load(ordering: .relaxed) == 0 { return }
            await ended.wait(after: version)
        }
    }

    /// The runtime named by the `Host` header's name, else (when it has a port) the dynamic upstream
    /// `host:port`.
    private func checkOut(_ request: ProxyRequest) throws(UpstreamLookupError) -> UpstreamRuntime {
        do {
            return try registry.checkOut(named: request.name, protocolKind: .http)
        } catch  where error.code == .notFound && request.nameWithPort != nil {
            return try registry.checkOut(named: request.nameWithPort!, protocolKind: .http)
        }
    }

    private static func refusal(_ error: UpstreamLookupError, request: ProxyRequest) -> ProxyAnswer {
        let message = error.message.hasPrefix("upstream: ") ? String(error.message.dropFirst(10)) : error.message
        let host = (request.nameWithPort ?? request.name).debugDescription
        switch error.code {
        case .notFound: return .refusal(.notFound, "Host \(host): \(message)")
        case .invalidArgument: return .refusal(.badRequest, "Host \(host): \(message)")
        case .failedPrecondition: return .refusal(.badGateway, "Host \(host): \(message)")
        }
    }
}
