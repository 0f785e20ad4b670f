import Yams

/// A node of the configuration document together with where it is: its key path, its line and the
/// file. Every read either returns a value of the type asked for or throws a `ConfigurationFileError`
/// that names all three, so the decoders never build an error by hand.
///
/// Yams nodes are values: an alias is the anchored node itself, so a read never follows references.
/// Reads walk only the keys the schema knows, so the work is bounded by the schema, not by how much an
/// aliased node would expand to.
struct ConfigurationNode {
    var node: Node
    /// The full dotted key path (`upstreams.payments.breaker`), "" for the document.
    var keyPath: String
    /// The line of the key that holds this node (or of the list item), the most useful line to show.
    var line: Int?
    var file: String

    init(node: Node, keyPath: String, line: Int?, file: String) {
        self.node = node
        self.keyPath = keyPath
        self.line = line
        self.file = file
    }

    /// The document root.
    init(root: Node, file: String) {
        self.init(node: root, keyPath: "", line: root.mark?.line, file: file)
    }

    /// An error at this node: the value found is described unless given.
    func error(expected: String, value: String? = nil) -> ConfigurationFileError {
        ConfigurationFileError(
            file: file,
            keyPath: keyPath,
            value: value ?? summary,
            expected: expected,
            line: line
        )
    }

    /// A null: `~`, `null` or nothing at all, unquoted (YAML 1.2 core schema).
    var isNull: Bool {
        node.isNullScalar
    }

    /// What the node holds, for the "got" part of an error.
    var summary: String {
        switch node {
        case .scalar(let scalar):
            if isNull { return "null" }
            return Self.display(scalar.string)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// `text` cut to a readable length, control characters escaped, quoted when it is empty or has
    /// spaces at its ends (so that the error shows them).
    static func display(_ text: String) -> String {
        let limit = 80
        var shown = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                shown += "…"
                break
            }
            count += 1
            if scalar.value < 0x20 || scalar.value == 0x7F {
                shown += scalar.escaped(asASCII: true)
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        if text.isEmpty || text.first?.isWhitespace == true || text.last?.isWhitespace == true {
            return "\"\(shown)\""
        }
        return shown
    }

    /// The node at `key` under this one (or `[index]` for a list item).
    func child(_ component: String, node: Node, line: Int?) -> ConfigurationNode {
        let path: String
        if component.isEmpty {
            path = keyPath  // an empty key: the error names the mapping that holds it
        } else if component.hasPrefix("[") {
            path = keyPath + component
        } else {
            path = keyPath.isEmpty ? component : "\(keyPath).\(component)"
        }
        return ConfigurationNode(node: node, keyPath: path, line: line ?? self.line, file: file)
    }
}

extension ConfigurationNode {
    /// The entries of a mapping whose keys may be anything (upstream names, header names), in file
    /// order. A null is an empty mapping.
    func entries(expected: String) throws(ConfigurationFileError) -> [(key: String, value: ConfigurationNode)] {
        if isNull { return [] }
        guard case .mapping(let mapping) = node else { throw error(expected: expected) }
        var entries: [(key: String, value: ConfigurationNode)] = []
        entries.reserveCapacity(mapping.count)
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                let bad = ConfigurationNode(node: keyNode, keyPath: keyPath, line: keyNode.mark?.line, file: file)
                throw bad.error(expected: "a key name (a string)")
            }
            let line = keyNode.mark?.line ?? valueNode.mark?.line
            entries.append((keyScalar.string, child(keyScalar.string, node: valueNode, line: line)))
        }
        return entries
    }

    /// The mapping of a section whose keys are `keys`; any other key is an error that lists them, so a
    /// typo is caught rather than ignored. A null is an empty section.
    func section(keys: [String]) throws(ConfigurationFileError) -> ConfigurationSection {
        let expected = "a mapping with keys \(keys.joined(separator: ", "))"
        var values: [String: ConfigurationNode] = [:]
        for (key, value) in try entries(expected: expected) {
            guard keys.contains(key) else {
                var unknown = "unknown key \(Self.display(key))"
                if let near = Self.nearest(to: key, in: keys) { unknown += " (did you mean \(near)?)" }
                throw value.error(expected: "one of the keys \(keys.joined(separator: ", "))", value: unknown)
            }
            values[key] = value
        }
        return ConfigurationSection(node: self, values: values)
    }

    /// The items of a list, each with its own line.
    func list(expected: String = "a list") throws(ConfigurationFileError) -> [ConfigurationNode] {
        guard case .sequence(let sequence) = node else { throw error(expected: expected) }
        return sequence.enumerated().map { index, item in child("[\(index)]", node: item, line: item.mark?.line) }
    }

    /// The text of a scalar that is not null.
    func string(expected: String = "a string") throws(ConfigurationFileError) -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw error(expected: expected) }
        return scalar.string
    }

    /// A name: not empty, no whitespace or control characters (upstream, service and member names).
    func name(expected: String = "a name without whitespace") throws(ConfigurationFileError) -> String {
        let text = try string(expected: expected)
        guard Self.isName(text) else { throw error(expected: expected) }
        return text
    }

    /// A whole number in decimal (`20`, `-1`; not `2.5`, `0x14` or `1_000`).
    func integer(expected: String = "an integer") throws(ConfigurationFileError) -> Int {
        let text = try string(expected: expected)
        guard let value = Int(text) else { throw error(expected: expected) }
        return value
    }

    /// A finite decimal number (`0.2`, `50`, `1e3`; not `.inf` or `nan`).
    func number(expected: String = "a number") throws(ConfigurationFileError) -> Double {
        let text = try string(expected: expected)
        let allowed = text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")]
                    .contains(byte)
        }
        guard allowed, let value = Double(text), value.isFinite else { throw error(expected: expected) }
        return value
    }

    /// `true` or `false` (YAML 1.2; the YAML 1.1 `yes`/`no`/`on`/`off` are refused, `on` being a key
    /// of ours).
    func boolean() throws(ConfigurationFileError) -> Bool {
        let expected = "true or false"
        switch try string(expected: expected) {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw error(expected: expected)
        }
    }

    /// A duration in the configuration's spelling (`DurationSyntax`).
    func duration() throws(ConfigurationFileError) -> Duration {
        let text = try string(expected: DurationSyntax.expected)
        guard let value = DurationSyntax.parse(text) else { throw error(expected: DurationSyntax.expected) }
        return value
    }

    /// One of the raw values of `T`, where the file may write `-` for `_` (`least-loaded`).
    func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws(ConfigurationFileError) -> T
    where T.RawValue == String {
        let expected = "one of " + T.allCases.map(\.rawValue).joined(separator: ", ")
        let text = try string(expected: expected)
        let normalized = String(text.map { $0 == "-" ? "_" : $0 })
        guard let value = T(rawValue: normalized) else { throw error(expected: expected) }
        return value
    }

    /// A list of strings, each with its node for errors about it.
    func strings(
        expected: String,
        item itemExpected: String = "a string"
    ) throws(ConfigurationFileError) -> [(text: String, node: ConfigurationNode)] {
        var result: [(text: String, node: ConfigurationNode)] = []
        for item in try list(expected: expected) {
            result.append((try item.string(expected: itemExpected), item))
        }
        return result
    }
}

extension Node {
    /// Whether the node is a null: `~`, `null` or nothing at all, unquoted (YAML 1.2 core schema).
    var isNullScalar: Bool {
        guard case .scalar(let scalar) = self, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }
}

extension ConfigurationNode {
    /// Not empty, and no whitespace or control character anywhere.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && $0.value >= 0x20 && $0.value != 0x7F }
    }

    /// The key of `keys` closest to a misspelt `key`, when it is close enough to be the one meant (at
    /// most two edits, or a third of the key's length for long ones).
    static func nearest(to key: String, in keys: [String]) -> String? {
        let lowered = key.lowercased()
        var best: (key: String, distance: Int)?
        for candidate in keys {
            let distance = editDistance(Array(lowered.utf8), Array(candidate.utf8))
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best, best.distance <= max(2, key.utf8.count / 3) else { return nil }
        return best.key
    }

    /// Levenshtein distance; `key` is cut to 64 bytes so that a huge key costs nothing.
    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let a = a.prefix(64)
        var previous = Array(0...b.count)
        var current = previous
        for (i, x) in a.enumerated() {
            current[0] = i + 1
            for (j, y) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// The checked keys of one section, and typed reads that leave a value alone when its key is absent,
/// so that a decoder reads `try section.read("min_calls", into: &breaker.minCalls)` over the defaults.
struct ConfigurationSection {
    /// The section itself, for errors about the section as a whole.
    var node: ConfigurationNode
    var values: [String: ConfigurationNode]

    subscript(key: String) -> ConfigurationNode? {
        values[key]
    }

    /// The nested section at `key`, or nil when it is absent (a null is an empty section).
    func section(_ key: String, keys: [String]) throws(ConfigurationFileError) -> ConfigurationSection? {
        guard let value = values[key] else { return nil }
        return try value.section(keys: keys)
    }

    func read(_ key: String, into target: inout Duration) throws(ConfigurationFileError) {
        if let value = values[key] { target = try value.duration() }
    }

    func read(_ key: String, into target: inout Int, expected: String = "an integer") throws(ConfigurationFileError) {
        if let value = values[key] { target = try value.integer(expected: expected) }
    }

    func read(_ key: String, into target: inout Double, expected: String = "a number") throws(ConfigurationFileError) {
        if let value = values[key] { target = try value.number(expected: expected) }
    }

    func read(_ key: String, into target: inout Bool) throws(ConfigurationFileError) {
        if let value = values[key] { target = try value.boolean() }
    }

    func read(_ key: String, into target: inout String) throws(ConfigurationFileError) {
        if let value = values[key] { target = try value.string() }
    }

    func read<T: RawRepresentable & CaseIterable>(_ key: String, into target: inout T) throws(ConfigurationFileError)
    where T.RawValue == String {
        if let value = values[key] { target = try value.choice(T.self) }
    }
}
