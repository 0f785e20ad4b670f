/// What the agent measures now, as a chaos experiment reads it: each upstream's window of the last
/// 10 seconds (`recent_calls`, `recent_failures`, `latency_p99_us`), its breaker, and the service
/// level.
public struct ChaosObservation: Sendable, Hashable {
    public var upstreams: [String: UpstreamObservation]
    public var level: ServiceLevel

    public init(upstreams: [String: UpstreamObservation], level: ServiceLevel) {
        self.upstreams = upstreams
        self.level = level
    }

    /// One upstream's window and breaker.
    public struct UpstreamObservation: Sendable, Hashable {
        public var calls: Int
        public var failures: Int
        public var p99: Duration
        public var breaker: CircuitBreaker.State

        public init(calls: Int, failures: Int, p99: Duration, breaker: CircuitBreaker.State = .closed) {
            self.calls = calls
            self.failures = failures
            self.p99 = p99
            self.breaker = breaker
        }

        /// Non-OK calls in percent of all calls; 0 without calls.
        public var errorPercent: Double {
            calls == 0 ? 0 : Double(failures) * 100 / Double(calls)
        }
    }
}

/// How an experiment ended (exit code 0 only for `held`).
public enum ChaosVerdict: String, Sendable, Hashable, CaseIterable {
    /// The steady state held before, during and after the method.
    case held
    /// The steady state was violated during the method, or did not come back within `recover_within`.
    case deviated
    /// The blast-radius guard (`abort_when`) fired, or the run was cancelled: every fault was removed.
    case aborted
    /// The steady state did not hold before the method: nothing was injected.
    case notSteady = "not_steady"
}

/// One check's numbers at one moment (or its worst over the method).
public struct ChaosCheckNumbers: Sendable, Hashable {
    public var calls: Int
    public var failures: Int
    public var errorPercent: Double
    public var p99: Duration
    public var level: ServiceLevel
    /// Whether the check held on these numbers.
    public var held: Bool
    /// Why not, e.g. `p99 250ms >= 200ms`; empty when it held.
    public var violation: String

    public init(
        calls: Int = 0,
        failures: Int = 0,
        errorPercent: Double = 0,
        p99: Duration = .zero,
        level: ServiceLevel = .full,
        held: Bool = true,
        violation: String = ""
    ) {
        self.calls = calls
        self.failures = failures
        self.errorPercent = errorPercent
        self.p99 = p99
        self.level = level
        self.held = held
        self.violation = violation
    }
}

/// A check with its numbers before, during (the worst seen) and after the method.
public struct ChaosCheckReport: Sendable, Hashable {
    public var check: SteadyStateCheck
    public var before: ChaosCheckNumbers?
    public var during: ChaosCheckNumbers?
    public var after: ChaosCheckNumbers?
    /// Whether it held every time it was checked.
    public var held: Bool { [before, during, after].allSatisfy { $0?.held ?? true } }
}

/// One line of the experiment's timeline, `at` since the experiment started.
public struct ChaosTimelineEntry: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case start, faultOn = "fault_on", faultOff = "fault_off", breaker, level, violation, recovered, abort, end
    }

    public var at: Duration
    public var kind: Kind
    public var text: String

    public init(at: Duration, kind: Kind, text: String) {
        self.at = at
        self.kind = kind
        self.text = text
    }
}

/// The chart's data: each upstream's error % and p99 at one moment.
public struct ChaosSample: Sendable, Hashable {
    public var at: Duration
    public var upstreams: [String: ChaosObservation.UpstreamObservation]
    public var level: ServiceLevel

    public init(at: Duration, upstreams: [String: ChaosObservation.UpstreamObservation], level: ServiceLevel) {
        self.at = at
        self.upstreams = upstreams
        self.level = level
    }
}

/// When one fault of the method was on, for the chart's shading.
public struct ChaosFaultWindow: Sendable, Hashable {
    public var step: Int
    public var faultID: String
    public var upstream: String
    public var description: String
    public var from: Duration
    /// Nil while it is still on.
    public var to: Duration?
}

/// What an experiment found.
public struct ChaosReport: Sendable, Hashable {
    public var name: String
    public var hypothesis: String
    /// Nil while it runs.
    public var verdict: ChaosVerdict?
    /// Why that verdict, in a sentence.
    public var reason: String
    public var elapsed: Duration
    public var checks: [ChaosCheckReport]
    public var timeline: [ChaosTimelineEntry]
    public var samples: [ChaosSample]
    public var windows: [ChaosFaultWindow]
}
