import LeveePolicy

/// What one upstream's runtime has counted since it was made (`levee upstreams`): calls by outcome,
/// attempts, retries and fallbacks. Permits count as calls and attempts too.
public struct UpstreamCounters: Hashable, Sendable {
    public var calls: UInt64 = 0
    public var ok: UInt64 = 0
    public var upstreamFailure: UInt64 = 0
    public var timeout: UInt64 = 0
    public var connectFailure: UInt64 = 0
    public var circuitOpen: UInt64 = 0
    public var bulkheadFull: UInt64 = 0
    public var noHealthyEndpoint: UInt64 = 0
    /// Attempts sent (by the agent) or reported (by the app through `Release`).
    public var attempts: UInt64 = 0
    /// Retries that went out.
    public var retries: UInt64 = 0
    /// Retries the budget refused.
    public var retriesDeniedByBudget: UInt64 = 0
    public var fallbacksStale: UInt64 = 0
    public var fallbacksStatic: UInt64 = 0

    public init() {}

    /// Counts a call that ended with `outcome`.
    mutating func count(_ outcome: CallOutcome) {
        switch outcome {
        case .ok: ok += 1
        case .upstreamFailure: upstreamFailure += 1
        case .timeout: timeout += 1
        case .connectFailure: connectFailure += 1
        case .circuitOpen: circuitOpen += 1
        case .bulkheadFull: bulkheadFull += 1
        case .noHealthyEndpoint: noHealthyEndpoint += 1
        }
    }

    /// Counts a fallback served.
    mutating func count(_ fallback: FallbackKind) {
        switch fallback {
        case .stale: fallbacksStale += 1
        case .static: fallbacksStatic += 1
        }
    }
}
