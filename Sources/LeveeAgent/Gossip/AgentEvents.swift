public import LeveePolicy

/// What happened in the upstream runtimes that the gossip pool should hear of.
public enum AgentEvent: Sendable {
    /// A breaker changed state.
    case breaker(upstream: String, transition: CircuitBreaker.Transition)
    /// An endpoint was ejected (`true`) or restored (`false`).
    case endpoint(upstream: String, endpoint: String, ejected: Bool)
    /// The upstream's last `streak` attempts failed in a row while its breaker is CLOSED, reaching
    /// `gossip.suspect_after`.
    case suspect(upstream: String, streak: Int)
}

/// Carries `AgentEvent`s from the runtimes (any thread, never blocking) to the one consumer, the
/// gossip service. Without gossip nothing consumes them and the newest few are simply kept.
public final class AgentEvents: Sendable {
    public let stream: AsyncStream<AgentEvent>
    private let continuation: AsyncStream<AgentEvent>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    func send(_ event: AgentEvent) {
        continuation.yield(event)
    }

    public func finish() {
        continuation.finish()
    }
}
