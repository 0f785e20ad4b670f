/// The configuration's spelling of a duration: a number and a unit (`250ms`, `2s`, `1.5s`, `500us`,
/// `1m`, `1h`), or several in a row (`1m30s`), as Go's `time.ParseDuration` reads them, so that the
/// spelling is the one serf and Envoy users know. A bare number is refused: `30` could be seconds or
/// milliseconds, and guessing wrong is a bad outage.
enum DurationSyntax {
    /// What a valid duration looks like, for error messages.
    static let expected = "a duration such as 250ms or 2s"

    /// Units, longest spelling first so that `ms` is not read as `m` then `s`.
    private static let units: [(spelling: String, nanoseconds: Int128)] = [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),  // U+00B5 MICRO SIGN
        ("μs", 1_000),  // U+03BC GREEK SMALL LETTER MU
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ]

    /// The duration `text` spells, or nil. Digits past the nanosecond are dropped; a duration that does
    /// not fit in 64 bits of nanoseconds (about 292 years) is refused.
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var total: Int128 = 0
        while !rest.isEmpty {
            let whole = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(whole.count)
            var fraction: Substring = ""
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix { $0.isASCII && $0.isNumber }
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty, whole.count <= 20 else { return nil }
            guard let unit = units.first(where: { rest.hasPrefix($0.spelling) }) else { return nil }
            rest = rest.dropFirst(unit.spelling.count)

            guard let wholeValue = whole.isEmpty ? 0 : Int128(String(whole)) else { return nil }
            var value = wholeValue * unit.nanoseconds
            // Nine fractional digits reach a nanosecond of a second; more would only be noise.
            let digits = fraction.prefix(9)
            if !digits.isEmpty, let fractionValue = Int128(String(digits)) {
                var scale: Int128 = 1
                for _ in 0..<digits.count { scale *= 10 }
                value += fractionValue * unit.nanoseconds / scale
            }
            total += value
            guard total <= Int128(Int64.max) else { return nil }
        }
        return .nanoseconds(Int64(total))
    }
}

extension Duration {
    /// The duration `text` spells in the configuration's syntax (`250ms`, `2s`, `1m30s`), or nil: for
    /// the CLI's duration options, so that they read as the file does.
    public init?(configurationText text: String) {
        guard let duration = DurationSyntax.parse(text) else { return nil }
        self = duration
    }
}
