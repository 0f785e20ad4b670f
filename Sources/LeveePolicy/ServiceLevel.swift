/// How much of a service can work: the chapter's graceful degradation, full → degraded → minimal.
///
/// Ordered, so that the worse of two levels is `max`.
public enum ServiceLevel: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Every feature on.
    case full = 1
    /// Some dependencies are down: turn off what needs them.
    case degraded = 2
    /// Serve only the essentials.
    case minimal = 3

    public static func < (lhs: ServiceLevel, rhs: ServiceLevel) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// `FULL`, `DEGRADED` or `MINIMAL`, as logs and the CLI show it.
    public var description: String {
        switch self {
        case .full: "FULL"
        case .degraded: "DEGRADED"
        case .minimal: "MINIMAL"
        }
    }

    /// The gossip `health` tag that says this level to peers: passing, degraded or critical.
    public var healthTag: String {
        switch self {
        case .full: "passing"
        case .degraded: "degraded"
        case .minimal: "critical"
        }
    }
}

/// A level and why: one reason per rule that holds, for the app (`Watch`), the operator and logs.
public struct ServiceLevelVerdict: Sendable, Hashable {
    public var level: ServiceLevel
    /// Empty at `full`; otherwise e.g. `degraded: recommendations breaker open`.
    public var reasons: [String]

    public init(level: ServiceLevel, reasons: [String]) {
        self.level = level
        self.reasons = reasons
    }

    public static let full = ServiceLevelVerdict(level: .full, reasons: [])
}

/// The `degradation` rules: which upstreams being down puts the service at which level.
///
/// A rule names upstreams and holds when every one of them is down (its breaker is not letting calls
/// through: open, half-open while it probes, or forced open). The level is the worst whose rules hold:
/// `minimal` over `degraded` over `full`. The reasons list every rule that holds at that level, so an
/// app or operator sees all of what is wrong, not just the first thing.
///
/// Without explicit rules (`DegradationRules.implicit(upstreams:)`), any one upstream down degrades the
/// service and all of them down makes it minimal.
public struct DegradationRules: Sendable, Hashable {
    /// Each rule is the set of upstreams that must all be down, in the order the configuration gives.
    public var degraded: [[String]]
    public var minimal: [[String]]

    public init(degraded: [[String]] = [], minimal: [[String]] = []) {
        self.degraded = degraded
        self.minimal = minimal
    }

    /// The rules when the configuration has none: each upstream alone degrades; all together are
    /// minimal. No upstreams: always full.
    public static func implicit(upstreams: [String]) -> DegradationRules {
        guard !upstreams.isEmpty else { return DegradationRules() }
        return DegradationRules(degraded: upstreams.map { [$0] }, minimal: [upstreams])
    }

    /// Every upstream a rule names.
    public var upstreams: Set<String> {
        Set((degraded + minimal).joined())
    }

    /// The level when the upstreams for which `isDown` is true are down.
    public func evaluate(isDown: (String) -> Bool) -> ServiceLevelVerdict {
        for (level, rules) in [(ServiceLevel.minimal, minimal), (.degraded, degraded)] {
            let holding = rules.filter { !$0.isEmpty && $0.allSatisfy(isDown) }
            if !holding.isEmpty {
                return ServiceLevelVerdict(level: level, reasons: holding.map { Self.reason(level, $0) })
            }
        }
        return .full
    }

    private static func reason(_ level: ServiceLevel, _ upstreams: [String]) -> String {
        let names: String
        switch upstreams.count {
        case 1: names = "\(upstreams[0]) breaker"
        case 2: names = "\(upstreams[0]) and \(upstreams[1]) breakers"
        default:
            names = upstreams.dropLast().joined(separator: ", ") + " and \(upstreams[upstreams.count - 1]) breakers"
        }
        return "\(level.description.lowercased()): \(names) open"
    }
}
