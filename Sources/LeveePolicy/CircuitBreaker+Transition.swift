extension CircuitBreaker {
    /// The state of a breaker, as the admin API, the metrics and the gossip payload name it.
    public enum State: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
        /// Calls go through; outcomes are recorded and the trip rule is checked after each one.
        case closed = "CLOSED"
        /// Calls are rejected until the open time has passed.
        case open = "OPEN"
        /// A few probes go through; their outcomes decide between OPEN and CLOSED.
        case halfOpen = "HALF_OPEN"
        /// Operator override: every call is rejected until the override is lifted.
        case forcedOpen = "FORCED_OPEN"
        /// Operator override: every call goes through and is recorded, but the breaker never trips
        /// (Hystrix's `forceClosed`, resilience4j's METRICS_ONLY).
        case forcedClosed = "FORCED_CLOSED"

        public var description: String { rawValue }
    }

    /// A change of state, returned by the event that caused it so the shell can log it, count it and
    /// gossip it (DESIGN.md, "Gossip": a breaker that opens or closes sends `levee-health`).
    ///
    /// An event causes at most one transition, so events return `Transition?` rather than an array:
    /// nothing is allocated on the hot path.
    public struct Transition: Hashable, Sendable, CustomStringConvertible {
        /// The state before the event.
        public var from: State
        /// The state after it.
        public var to: State
        /// The `now` of the event.
        public var at: Instant
        /// Why the state changed.
        public var cause: Cause

        public init(from: State, to: State, at: Instant, cause: Cause) {
            self.from = from
            self.to = to
            self.at = at
            self.cause = cause
        }

        public var description: String {
            "\(from) → \(to): \(cause)"
        }
    }

    /// Why a transition happened.
    public enum Cause: Hashable, Sendable, CustomStringConvertible {
        /// The failure rate reached `failure_rate`: over the window (from CLOSED) or over the probes
        /// (from HALF_OPEN).
        case failureRate(RateReached)
        /// The slow-call rate reached `slow_call.rate`, with the failure rate under its threshold.
        case slowCallRate(RateReached)
        /// The open time (the associated duration) has passed and an acquire came: OPEN → HALF_OPEN.
        case openTimeElapsed(Duration)
        /// Every probe reported and neither rate reached its threshold: HALF_OPEN → CLOSED.
        case probesPassed(Tally)
        /// An operator forced the state (`force(_:now:)`).
        case forced
        /// An operator reset the breaker (`reset(now:)`).
        case reset
        /// Peers in the gossip pool (the associated count, at least the quorum) reported the upstream's
        /// breaker open (`openOnPeerReports(_:now:)`, share: follow).
        case peersReportedOpen(Int)
        /// This agent's last `streak` outcomes failed, and `peers` agents of the pool (at least the
        /// quorum) saw failures in a row too or report the breaker open (`openOnCorroboration`,
        /// share: follow).
        case corroborated(streak: Int, peers: Int)

        public var description: String {
            switch self {
            case .failureRate(let rate): "failure rate \(rate)"
            case .slowCallRate(let rate): "slow-call rate \(rate)"
            case .openTimeElapsed(let duration): "open for \(duration.configDescription), probing"
            case .probesPassed(let tally):
                "\(tally.calls) probes passed (\(tally.failures) failed, \(tally.slowCalls) slow)"
            case .forced: "forced by an operator"
            case .reset: "reset by an operator"
            case .peersReportedOpen(let count): "\(count) peers reported it open"
            case .corroborated(let streak, let peers):
                "\(streak) failures in a row here, and \(peers) peers saw failures in a row or opened it"
            }
        }
    }

    /// A measured rate that reached its threshold: "60% ≥ 50% (6 of 10 calls)".
    public struct RateReached: Hashable, Sendable, CustomStringConvertible {
        /// The failures, or the slow calls.
        public var count: Int
        /// The calls they are a part of.
        public var calls: Int
        /// The configured threshold, in percent.
        public var threshold: Double

        public init(count: Int, calls: Int, threshold: Double) {
            self.count = count
            self.calls = calls
            self.threshold = threshold
        }

        /// The measured rate, in percent.
        public var rate: Double {
            calls == 0 ? 0 : Double(count) * 100 / Double(calls)
        }

        public var description: String {
            "\(Self.percent(rate)) ≥ \(Self.percent(threshold)) (\(count) of \(calls) calls)"
        }

        /// A percentage with at most two decimals and no trailing zeros, without Foundation.
        static func percent(_ value: Double) -> String {
            let hundredths = Int((value * 100).rounded())
            let whole = hundredths / 100
            let fraction = hundredths % 100
            if fraction == 0 { return "\(whole)%" }
            if fraction % 10 == 0 { return "\(whole).\(fraction / 10)%" }
            return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
        }
    }
}
