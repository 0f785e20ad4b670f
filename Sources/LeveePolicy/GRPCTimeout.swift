/// The `grpc-timeout` request header (gRPC `doc/PROTOCOL-HTTP2.md`: `Timeout → "grpc-timeout"
/// TimeoutValue TimeoutUnit`, a positive integer of at most 8 ASCII digits and one of the units
/// `H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds).
///
/// DESIGN.md "Deadlines": the remaining time is sent on to gRPC upstreams in this header.
public struct GRPCTimeout: Hashable, Sendable, CustomStringConvertible {
    /// A `TimeoutUnit`, with the header's letter as raw value.
    public enum Unit: Character, CaseIterable, Hashable, Sendable {
        case hours = "H"
        case minutes = "M"
        case seconds = "S"
        case milliseconds = "m"
        case microseconds = "u"
        case nanoseconds = "n"

        /// The unit in nanoseconds.
        public var nanoseconds: Int64 {
            switch self {
            case .hours: 3_600_000_000_000
            case .minutes: 60_000_000_000
            case .seconds: 1_000_000_000
            case .milliseconds: 1_000_000
            case .microseconds: 1_000
            case .nanoseconds: 1
            }
        }

        /// Finest first: the order in which `init(rounding:)` tries the units.
        static let finestFirst: [Unit] = [.nanoseconds, .microseconds, .milliseconds, .seconds, .minutes, .hours]
    }

    /// The largest `TimeoutValue`: 8 digits.
    public static let maxValue: Int64 = 99_999_999

    /// The `TimeoutValue`, 0 to `maxValue`.
    public let value: Int64
    /// The `TimeoutUnit`.
    public let unit: Unit

    /// A timeout of `value` `unit`s, or nil when `value` is outside 0...`maxValue`.
    public init?(value: Int64, unit: Unit) {
        guard value >= 0 && value <= Self.maxValue else { return nil }
        self.value = value
        self.unit = unit
    }

    /// The timeout to send for `duration` remaining: the finest unit whose value fits in 8 digits,
    /// rounded **down**, so the upstream never believes it has more time than the caller will wait for
    /// it (its own DEADLINE_EXCEEDED then reaches us before we give up). Because a coarser unit is used
    /// only when the finer value has more than 8 digits, and the units grow by at most ×1000, the value
    /// sent keeps at least 6 digits: the time lost to rounding is under 10⁻⁵ of the duration. A negative duration gives `0n` (the shell should not send an expired call at all:
    /// DESIGN.md); the largest durations clamp to `99999999H`.
    public init(rounding duration: Duration) {
        let nanoseconds = Swift.max(0, duration.nanoseconds)
        for unit in Unit.finestFirst {
            let value = nanoseconds / unit.nanoseconds
            if value <= Self.maxValue {
                self.value = value
                self.unit = unit
                return
            }
        }
        self.value = Self.maxValue
        self.unit = .hours
    }

    /// Parses a header value. Rejects (nil) the empty string, a missing or unknown unit, more than 8
    /// digits, no digits, signs, spaces and any other character. A value of 0 is accepted (it means the
    /// deadline has already passed) although the spec says "positive".
    public init?(headerValue: some StringProtocol) {
        let bytes = headerValue.utf8
        guard bytes.count >= 2, bytes.count <= 9 else { return nil }
        var value: Int64 = 0
        var digits = 0
        var unit: Unit?
        for (index, byte) in bytes.enumerated() {
            if index == bytes.count - 1 {
                unit = Unit(rawValue: Character(Unicode.Scalar(byte)))
            } else {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                digits += 1
            }
        }
        guard digits >= 1, let unit else { return nil }
        self.value = value
        self.unit = unit
    }

    /// The header value: the digits then the unit's letter (`250m`, `99999999H`).
    public var headerValue: String {
        "\(value)\(unit.rawValue)"
    }

    /// The timeout as a duration. `99999999H` exceeds `Int64` nanoseconds but not `Duration`.
    public var duration: Duration {
        switch unit {
        case .hours: .seconds(value * 3600)
        case .minutes: .seconds(value * 60)
        case .seconds: .seconds(value)
        case .milliseconds: .milliseconds(value)
        case .microseconds: .microseconds(value)
        case .nanoseconds: .nanoseconds(value)
        }
    }

    public var description: String { headerValue }
}
