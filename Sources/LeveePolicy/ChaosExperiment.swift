/// A chaos experiment, the chapter's workflow as data: the steady state (what "working" looks like, in
/// numbers the agent measures from real traffic), the hypothesis that it survives a fault, the method
/// (which faults, when, for how long), the blast-radius guard, and how soon the steady state must
/// come back. ``ChaosRun`` carries it out; `ChaosExperiment+Decoding` in LeveeConfiguration reads it
/// from YAML.
public struct ChaosExperiment: Sendable, Hashable {
    public var name: String
    public var hypothesis: String
    /// Checked before (not steady: the experiment refuses to start), during and after the method.
    public var steadyState: [SteadyStateCheck]
    public var method: [MethodStep]
    /// The blast-radius guard: when the steady state stays violated this long, every fault is removed
    /// at once and the experiment ends `aborted`. Nil: no guard.
    public var abortWhen: AbortRule?
    /// After the method, the steady state must hold again within this long.
    public var recoverWithin: Duration

    public init(
        name: String,
        hypothesis: String = "",
        steadyState: [SteadyStateCheck],
        method: [MethodStep],
        abortWhen: AbortRule? = nil,
        recoverWithin: Duration = .seconds(30)
    ) {
        self.name = name
        self.hypothesis = hypothesis
        self.steadyState = steadyState
        self.method = method
        self.abortWhen = abortWhen
        self.recoverWithin = recoverWithin
    }

    /// From the start of the method until its last fault ends.
    public var methodDuration: Duration {
        method.map { $0.after + $0.duration }.max() ?? .zero
    }

    /// The upstreams the checks and the faults name, sorted.
    public var upstreams: [String] {
        var names = Set(method.map(\.fault.upstream))
        for check in steadyState {
            if case .upstream(let upstream) = check { names.insert(upstream.upstream) }
        }
        return names.sorted()
    }

    /// The rule of `abort_when`.
    public struct AbortRule: Sendable, Hashable {
        /// How long the steady state must stay violated, without a break, to abort.
        public var violatedFor: Duration

        public init(violatedFor: Duration) {
            self.violatedFor = violatedFor
        }
    }

    /// One step of the method: a fault switched on `after` the method starts, for `duration`.
    public struct MethodStep: Sendable, Hashable {
        public var fault: ChaosFault
        public var after: Duration
        public var duration: Duration

        public init(fault: ChaosFault, after: Duration = .zero, duration: Duration) {
            self.fault = fault
            self.after = after
            self.duration = duration
        }
    }
}

/// One check of the steady state.
public enum SteadyStateCheck: Sendable, Hashable, CustomStringConvertible {
    /// An upstream's calls of the last 10 seconds, as the agent measured them.
    case upstream(UpstreamSteadyState)
    /// The service's level under the `degradation` rules is one of these.
    case serviceLevel(Set<ServiceLevel>)

    public var description: String {
        switch self {
        case .upstream(let check):
            var parts: [String] = []
            if let p99 = check.p99Below { parts.append("p99 < \(ChaosFormat.duration(p99))") }
            if let errors = check.errorsBelow { parts.append("errors < \(ChaosFormat.percent(errors))") }
            parts.append("calls >= \(check.minCalls)")
            return "\(check.upstream): " + parts.joined(separator: ", ")
        case .serviceLevel(let levels):
            return "service level in " + levels.sorted().map(\.description).joined(separator: ", ")
        }
    }
}

/// The numbers an upstream must stay within.
public struct UpstreamSteadyState: Sendable, Hashable {
    public var upstream: String
    /// The p99 latency of the window must stay below this.
    public var p99Below: Duration?
    /// The share of calls that did not end OK, in percent (0.1 is 0.1 %), must stay below this.
    public var errorsBelow: Double?
    /// Fewer calls than this in the window is too little traffic to judge: a failed check, not a pass.
    public var minCalls: Int

    public init(upstream: String, p99Below: Duration? = nil, errorsBelow: Double? = nil, minCalls: Int = 1) {
        self.upstream = upstream
        self.p99Below = p99Below
        self.errorsBelow = errorsBelow
        self.minCalls = minCalls
    }
}

/// A fault of the method, in the spelling of `levee fault add`'s flags (`abort`, `abort_grpc`,
/// `reset`, `blackhole`, `delay`, `percent`, `endpoint`, `header`); the agent turns it into its fault
/// table's `FaultSpec`.
public struct ChaosFault: Sendable, Hashable, CustomStringConvertible {
    /// What the fault does to the attempts it hits, after `delay`.
    public enum Action: Sendable, Hashable {
        case abort(httpStatus: Int)
        case abortGRPC(code: Int)
        case reset
        case blackhole
        case delayOnly
    }

    public var upstream: String
    public var action: Action
    public var delay: Duration
    /// The share of matching attempts hit, (0, 100].
    public var percent: Double
    /// Only attempts to this endpoint (`host:port`).
    public var endpoint: String?
    /// Only requests with this header (or gRPC metadata) and value.
    public var header: (name: String, value: String)? {
        get { headerName.map { ($0, headerValue ?? "") } }
        set {
            headerName = newValue?.name
            headerValue = newValue?.value
        }
    }
    private var headerName: String?
    private var headerValue: String?

    public init(
        upstream: String,
        action: Action,
        delay: Duration = .zero,
        percent: Double = 100,
        endpoint: String? = nil,
        header: (name: String, value: String)? = nil
    ) {
        self.upstream = upstream
        self.action = action
        self.delay = delay
        self.percent = percent
        self.endpoint = endpoint
        self.headerName = header?.name
        self.headerValue = header?.value
    }

    /// `abort 500`, `delay 200ms + reset`, `blackhole`, with the share when it is not 100 %.
    public var description: String {
        let kind: String? =
            switch action {
            case .abort(let status): "abort \(status)"
            case .abortGRPC(let code): "abort-grpc \(code)"
            case .reset: "reset"
            case .blackhole: "blackhole"
            case .delayOnly: nil
            }
        var text: String
        if delay > .zero {
            text = "delay \(ChaosFormat.duration(delay))" + (kind.map { " + \($0)" } ?? "")
        } else {
            text = kind ?? "delay 0s"
        }
        if percent < 100 { text += " (\(ChaosFormat.percent(percent)))" }
        return text
    }
}

/// How the chaos report spells numbers.
public enum ChaosFormat {
    /// `250ms`, `10s`, `1.5s`, `800us`.
    public static func duration(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let microseconds = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        if microseconds < 1_000 { return "\(microseconds)us" }
        if microseconds < 1_000_000 {
            return microseconds % 1_000 == 0
                ? "\(microseconds / 1_000)ms" : trimmed(Double(microseconds) / 1_000) + "ms"
        }
        return microseconds % 1_000_000 == 0
            ? "\(microseconds / 1_000_000)s" : trimmed(Double(microseconds) / 1_000_000) + "s"
    }

    /// `0.1%`, `12.5%`, `100%`.
    public static func percent(_ value: Double) -> String {
        trimmed(value) + "%"
    }

    /// Up to three decimals, trailing zeros dropped.
    static func trimmed(_ value: Double) -> String {
        let scaled = (value * 1_000).rounded() / 1_000
        if scaled == scaled.rounded() { return "\(Int(scaled))" }
        var text = "\(scaled)"
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}
