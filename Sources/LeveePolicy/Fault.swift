/// What an injected chaos fault does to the attempts it hits (after its delay, when it has one).
///
/// Faults act at the attempt: what they make is an ordinary attempt result, so the breaker, retries,
/// outlier detection and fallback react to it as to the real failure it imitates (DESIGN.md "Faults").
public enum FaultAction: Sendable, Hashable {
    /// Answer this HTTP status without calling the upstream.
    case abort(httpStatus: Int)
    /// Answer this gRPC status code without calling the upstream.
    case abortGRPC(code: Int)
    /// Fail the attempt as a connection reset.
    case reset
    /// Send nothing, never answer: the attempt times out.
    case blackhole
    /// Only the delay, then the real attempt.
    case delayOnly

    /// The `kind` label of `levee_faults_injected_total` and the CLI's spelling: `abort`, `abort_grpc`,
    /// `reset`, `blackhole`, `delay`.
    public var kind: String {
        switch self {
        case .abort: "abort"
        case .abortGRPC: "abort_grpc"
        case .reset: "reset"
        case .blackhole: "blackhole"
        case .delayOnly: "delay"
        }
    }
}

/// A header (HTTP) or metadata key (gRPC) that a request must carry, with this exact value, for a
/// fault to hit it: test traffic in production. The name is matched without regard to case.
public struct FaultHeaderMatch: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An injected chaos fault: which attempts it hits (upstream, endpoint, header, a share of them) and
/// what it does to them. Pure: the percent decision takes its random draw as a parameter.
public struct FaultSpec: Sendable, Hashable, CustomStringConvertible {
    public var upstream: String
    public var action: FaultAction
    /// Waited before the attempt (and before the abort, reset or blackhole); `.zero` for none.
    public var delay: Duration
    /// The share of matching attempts hit, in (0, 100].
    public var percent: Double
    /// Only attempts to this endpoint (`host:port`); nil: every endpoint.
    public var endpoint: String?
    /// Only requests carrying this header; nil: every request.
    public var header: FaultHeaderMatch?
    /// How long the fault stays; nil: ``defaultDuration``. Capped by `chaos.max_duration`.
    public var duration: Duration?

    /// How long a fault stays when its spec does not say (`levee fault add --for`'s default).
    public static let defaultDuration = Duration.seconds(300)
    /// The HTTP statuses an abort may answer.
    public static let httpStatuses = 100...599
    /// The gRPC codes an abort may answer: every status but OK (gRPC `doc/statuscodes.md`).
    public static let grpcCodes = 1...16

    public init(
        upstream: String,
        action: FaultAction,
        delay: Duration = .zero,
        percent: Double = 100,
        endpoint: String? = nil,
        header: FaultHeaderMatch? = nil,
        duration: Duration? = nil
    ) {
        self.upstream = upstream
        self.action = action
        self.delay = delay
        self.percent = percent
        self.endpoint = endpoint
        self.header = header
        self.duration = duration
    }

    /// Its kind for a human: `abort 500`, `abort-grpc 14`, `delay 200ms + reset`, `blackhole`,
    /// `delay 200ms`.
    public var description: String {
        let action: String? =
            switch action {
            case .abort(let status): "abort \(status)"
            case .abortGRPC(let code): "abort-grpc \(code)"
            case .reset: "reset"
            case .blackhole: "blackhole"
            case .delayOnly: nil
            }
        let delay = delay > .zero ? "delay \(delay.configDescription)" : nil
        return [delay, action].compactMap { $0 }.joined(separator: " + ")
    }

    /// What is wrong with the spec, naming the field; nil when it is valid.
    public var problem: String? {
        guard !upstream.isEmpty else { return "upstream: required" }
        switch action {
        case .abort(let status) where !Self.httpStatuses.contains(status):
            return "abort: an HTTP status from 100 to 599, not \(status)"
        case .abortGRPC(let code) where !Self.grpcCodes.contains(code):
            return "abort_grpc: a gRPC status code from 1 to 16, not \(code)"
        case .delayOnly where delay <= .zero:
            return "delay: a positive duration (a fault with no action must at least delay)"
        default:
            break
        }
        guard delay >= .zero else { return "delay: a duration of zero or more" }
        guard percent > 0, percent <= 100 else { return "percent: a number in (0, 100], not \(percent)" }
        if let duration, duration <= .zero { return "duration: a positive duration" }
        if let header, header.name.isEmpty { return "header: NAME=VALUE with a name" }
        if let endpoint, endpoint.isEmpty { return "endpoint: host:port" }
        return nil
    }

    /// Whether an attempt at `upstream`'s `endpoint` matches the fault's filters; `header` gives the
    /// request's value for a header name (any case), nil when it has none.
    public func matches(upstream: String, endpoint: String, header: (String) -> String?) -> Bool {
        guard upstream == self.upstream else { return false }
        if let wanted = self.endpoint, wanted != endpoint { return false }
        if let match = self.header, header(match.name) != match.value { return false }
        return true
    }

    /// Whether a matching attempt is hit, given `draw`, uniform in [0, 1): the first `percent`% of
    /// the range hit.
    public func hits(draw: Double) -> Bool {
        percent >= 100 || draw * 100 < percent
    }

    /// ``hits(draw:)`` with a draw from `random`.
    public func hits(using random: inout some RandomNumberGenerator) -> Bool {
        percent >= 100 || hits(draw: Double.random(in: 0..<1, using: &random))
    }
}
