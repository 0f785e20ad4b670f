/// A configuration value that a policy cannot work with.
///
/// Every `validate()` in the policy core throws this. It names the key the way the YAML file spells it
/// (`failure_rate`, `slow_call.duration`), the value it found, and what it expected, so the agent can
/// prefix the path of the enclosing section (`upstreams.payments.breaker`) and show it as is.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The dotted key path, in the configuration file's spelling.
    public var keyPath: String
    /// The offending value, as written or as parsed.
    public var value: String
    /// What a valid value looks like.
    public var expected: String

    public init(keyPath: String, value: String, expected: String) {
        self.keyPath = keyPath
        self.value = value
        self.expected = expected
    }

    /// The same error, with `prefix` put in front of its key path (`"breaker"` + `"min_calls"` gives
    /// `"breaker.min_calls"`).
    public func prefixed(by prefix: String) -> ConfigurationError {
        guard !prefix.isEmpty else { return self }
        var copy = self
        copy.keyPath = keyPath.isEmpty ? prefix : "\(prefix).\(keyPath)"
        return copy
    }

    public var description: String {
        "\(keyPath): expected \(expected), got \(value)"
    }
}

extension ConfigurationError {
    /// Throws unless `condition` holds; a shorthand for the many range checks of `validate()`.
    @inlinable
    static func require(
        _ condition: Bool,
        _ keyPath: @autoclosure () -> String,
        _ value: @autoclosure () -> String,
        expected: @autoclosure () -> String
    ) throws(ConfigurationError) {
        if !condition {
            throw ConfigurationError(keyPath: keyPath(), value: value(), expected: expected())
        }
    }
}

extension ConfigurationError {
    /// Runs the validation in `body`, prefixing the key path of any error it throws with `section`, so a
    /// nested configuration reports `backoff.base` rather than `base`.
    @inlinable
    public static func within(
        _ section: String,
        _ body: () throws(ConfigurationError) -> Void
    ) throws(ConfigurationError) {
        do {
            try body()
        } catch {
            throw error.prefixed(by: section)
        }
    }
}

extension Duration {
    /// A short human spelling of the duration, as the configuration writes it (`250ms`, `2s`).
    public var configDescription: String {
        let ns = nanoseconds
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns % 1_000 == 0 { return "\(ns / 1_000)us" }
        return "\(ns)ns"
    }
}
