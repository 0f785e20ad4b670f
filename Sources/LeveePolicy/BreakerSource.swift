/// Who decided the state a circuit breaker is in: this agent's own calls, its peers' reports, or an
/// operator (`levee breaker`). Shown by `Watch` and `levee upstreams`.
public enum BreakerSource: Hashable, Sendable, CaseIterable {
    /// The agent's own calls (or the breaker's own clock: OPEN → HALF_OPEN).
    case local
    /// Peers in the gossip pool reported the upstream sick (`share: follow`), alone or with this
    /// agent's own failures in a row.
    case peers
    /// An operator forced the breaker open or closed.
    case `operator`

    /// The source of a transition, by its cause. An operator's reset hands the breaker back to the
    /// agent's own calls: its source is local again.
    public init(_ cause: CircuitBreaker.Cause) {
        switch cause {
        case .forced: self = .operator
        case .peersReportedOpen, .corroborated: self = .peers
        default: self = .local
        }
    }
}
