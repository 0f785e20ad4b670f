/// The `x-levee-timeout-ms` request header: the call's remaining time, sent on to HTTP upstreams
/// (DESIGN.md "Deadlines"), as a non-negative decimal integer of milliseconds.
public enum LeveeTimeoutHeader {
    /// The header name.
    public static let name = "x-levee-timeout-ms"

    /// The header value for `remaining`: whole milliseconds rounded **down** (as for `grpc-timeout`:
    /// the upstream must not believe it has more time than the caller will wait). Under 1 ms gives
    /// `0`, which the retry decision avoids by never starting an attempt with less than
    /// `min_attempt_time` left. Negative durations give `0`.
    public static func value(remaining: Duration) -> String {
        String(Swift.max(0, remaining.nanoseconds) / 1_000_000)
    }

    /// The duration a header value carries: 1 to 18 ASCII digits, nothing else; nil otherwise.
    public static func parse(_ value: some StringProtocol) -> Duration? {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var milliseconds: Int64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            milliseconds = milliseconds * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return .milliseconds(milliseconds)
    }
}
