/// One entry of a list that matches attempts: the retry configuration's `on:` list, the outcome
/// classifier's `failure:` and `ignored:` lists.
///
/// The configuration spells them as strings; `init(parsing:)` reads the forms below, `description`
/// writes them back:
///
/// | string | pattern |
/// |---|---|
/// | `connect-failure`, `reset`, `timeout` | a transport failure (`AttemptFailure`) |
/// | `503`, `429` | one HTTP status |
/// | `5xx`, `4xx` | a class of HTTP statuses (RFC 9110 §15) |
/// | `500-599` | an inclusive range of HTTP statuses |
/// | `unavailable`, `RESOURCE_EXHAUSTED` | a gRPC status code by name (gRPC `doc/statuscodes.md`) |
public enum AttemptPattern: Hashable, Sendable, CustomStringConvertible {
    /// No connection could be made.
    case connectFailure
    /// The connection broke after the request may have been sent.
    case reset
    /// The attempt's timeout passed.
    case timeout
    /// HTTP statuses in the range (one status is a range of one).
    case httpStatus(ClosedRange<Int>)
    /// One gRPC status code.
    case grpcStatus(Int)

    /// The pattern `text` spells, or nil when it spells none.
    public init?(parsing text: some StringProtocol) {
        let lowered = text.lowercased()
        switch lowered {
        case "connect-failure", "connect_failure": self = .connectFailure
        case "reset": self = .reset
        case "timeout": self = .timeout
        default:
            if let code = GRPCStatusCodeSet.code(named: lowered) {
                self = .grpcStatus(code)
            } else if let range = Self.httpRange(lowered) {
                self = .httpStatus(range)
            } else {
                return nil
            }
        }
    }

    /// Parses every entry of a configuration list, or throws naming the first bad one as `key[index]`.
    public static func parseList(
        _ entries: [String],
        key: String
    ) throws(ConfigurationError) -> [AttemptPattern] {
        var patterns: [AttemptPattern] = []
        patterns.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            guard let pattern = AttemptPattern(parsing: entry) else {
                throw ConfigurationError(keyPath: "\(key)[\(index)]", value: entry, expected: expectedSpelling)
            }
            patterns.append(pattern)
        }
        return patterns
    }

    /// What a valid entry looks like, for error messages.
    public static let expectedSpelling =
        "connect-failure, reset, timeout, an HTTP status (503), class (5xx) or range (500-599), "
        + "or a gRPC status name (unavailable)"

    /// Whether the pattern makes sense as written: HTTP statuses within 100-599 and in order, gRPC codes
    /// within 0-16.
    public var isValid: Bool {
        switch self {
        case .connectFailure, .reset, .timeout: true
        case .httpStatus(let range):
            HTTPStatusSet.validRange.contains(range.lowerBound) && HTTPStatusSet.validRange.contains(range.upperBound)
        case .grpcStatus(let code): GRPCStatusCodeSet.validRange.contains(code)
        }
    }

    /// Whether the pattern names a status (HTTP or gRPC) rather than a transport failure.
    public var isStatus: Bool {
        switch self {
        case .httpStatus, .grpcStatus: true
        case .connectFailure, .reset, .timeout: false
        }
    }

    public var description: String {
        switch self {
        case .connectFailure: "connect-failure"
        case .reset: "reset"
        case .timeout: "timeout"
        case .httpStatus(let range):
            if range.lowerBound == range.upperBound {
                "\(range.lowerBound)"
            } else if range.lowerBound % 100 == 0 && range.upperBound == range.lowerBound + 99 {
                "\(range.lowerBound / 100)xx"
            } else {
                "\(range.lowerBound)-\(range.upperBound)"
            }
        case .grpcStatus(let code):
            GRPCStatusCodeSet.validRange.contains(code) ? GRPCStatusCodeSet.names[code] : "grpc-\(code)"
        }
    }

    /// `503`, `5xx` or `500-599`, within 100-599 and in order; nil for anything else.
    private static func httpRange(_ text: String) -> ClosedRange<Int>? {
        let bytes = Array(text.utf8)
        if bytes.count == 3, (UInt8(ascii: "1")...UInt8(ascii: "5")).contains(bytes[0]),
            bytes[1] == UInt8(ascii: "x"), bytes[2] == UInt8(ascii: "x")
        {
            let hundreds = Int(bytes[0] - UInt8(ascii: "0")) * 100
            return hundreds...(hundreds + 99)
        }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        guard let lower = threeDigitStatus(parts[0]) else { return nil }
        let upper: Int
        if parts.count == 2 {
            guard let value = threeDigitStatus(parts[1]) else { return nil }
            upper = value
        } else {
            upper = lower
        }
        return lower <= upper ? lower...upper : nil
    }

    private static func threeDigitStatus(_ text: Substring) -> Int? {
        guard text.utf8.count == 3, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let value = Int(text), HTTPStatusSet.validRange.contains(value)
        else { return nil }
        return value
    }
}
