import LeveePolicy

/// Why the configuration file cannot be used: it names the file, the line when known, the key path,
/// what was found and what was expected, so that the fix is obvious (DESIGN.md "Errors say what to do").
///
/// `description` reads
/// `levee.yaml:14: upstreams.payments.breaker.min_calls: expected an integer ≥ 1, got 0`. A file that
/// cannot be read or is not valid YAML has an empty `keyPath`.
public struct ConfigurationFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file, as the agent was given it.
    public var file: String
    /// The dotted key path in the file's spelling (`upstreams.payments.retry.on[2]`), or "" for an error
    /// of the whole file.
    public var keyPath: String
    /// What the file holds there, as written (a long value is cut short).
    public var value: String
    /// What a valid value looks like.
    public var expected: String
    /// The 1-based line of the key or value, when the YAML parser tells it.
    public var line: Int?

    public init(file: String, keyPath: String, value: String, expected: String, line: Int? = nil) {
        self.file = file
        self.keyPath = keyPath
        self.value = value
        self.expected = expected
        self.line = line
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        return text + "expected \(expected), got \(value)"
    }
}

extension ConfigurationFileError {
    /// A policy core validation error, its key path put under `prefix` (`upstreams.payments`).
    init(_ error: ConfigurationError, prefix: String, file: String, line: Int?) {
        let prefixed = error.prefixed(by: prefix)
        self.init(file: file, keyPath: prefixed.keyPath, value: prefixed.value, expected: prefixed.expected, line: line)
    }
}
