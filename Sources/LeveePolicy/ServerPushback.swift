/// What the upstream said about retrying: wait this long, or do not retry at all.
///
/// A server-requested delay replaces the computed backoff for the next retry (gRFC A6 "Pushback";
/// RFC 9110 §10.2.3 `Retry-After`). It is not capped by `backoff.max`: the server knows its own
/// recovery better, and the deadline check still applies.
public enum ServerPushback: Hashable, Sendable {
    /// Retry, but not before `after` has passed.
    case retry(after: Duration)
    /// Do not retry this call (gRFC A6: a negative or malformed `grpc-retry-pushback-ms`).
    case doNotRetry

    /// The `grpc-retry-pushback-ms` trailer (gRFC A6 "Pushback"): a non-negative decimal integer of
    /// milliseconds means "retry after that delay"; anything else (negative, empty, not a decimal
    /// integer) means "do not retry". A value too large for 64 bits saturates. The caller passes nil
    /// when the trailer is absent, so no pushback applies.
    public init(grpcRetryPushbackMilliseconds value: some StringProtocol) {
        guard let milliseconds = Self.decimal(value.utf8) else {
            self = .doNotRetry
            return
        }
        self = .retry(after: .milliseconds(milliseconds))
    }

    /// The delay-seconds form of `Retry-After` (RFC 9110 §10.2.3: `delay-seconds = 1*DIGIT`), or nil
    /// when `value` is not that form (an HTTP-date, which the shell parses with the current wall-clock
    /// time, or garbage, which is ignored: an unreadable `Retry-After` does not forbid a retry).
    public init?(retryAfter value: some StringProtocol) {
        guard let seconds = Self.decimal(value.utf8) else { return nil }
        self = .retry(after: .seconds(seconds))
    }

    /// The value of one or more ASCII digits and nothing else, saturating at `Int64.max`.
    private static func decimal(_ bytes: some Collection<UInt8>) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            value = overflow1 || overflow2 ? .max : sum
        }
        return value
    }
}
