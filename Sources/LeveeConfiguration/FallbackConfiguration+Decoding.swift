import LeveePolicy
import Yams

extension FallbackConfiguration {
    static let keys = ["stale", "static", "on"]

    /// The `fallback` section. `stale` and `static` are mappings (an empty one takes the defaults), or
    /// `false` to turn off one that `defaults` set.
    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        if let node = section["stale"], try !node.isTurnedOff(expected: "a mapping with keys max_age, max_entries") {
            stale = try StaleFallbackConfiguration(decoding: node.section(keys: ["max_age", "max_entries"]))
        }
        if let node = section["static"],
            try !node.isTurnedOff(
                expected: "a mapping with keys \(StaticFallbackConfiguration.keys.joined(separator: ", "))"
            )
        {
            `static` = try StaticFallbackConfiguration(decoding: node.section(keys: StaticFallbackConfiguration.keys))
        }
        if let node = section["on"] {
            var triggers = Set<FallbackTrigger>()
            for item in try node.list(expected: "a list such as [timeout, circuit_open]") {
                triggers.insert(try item.choice(FallbackTrigger.self))
            }
            on = triggers
        }
    }
}

extension ConfigurationNode {
    /// Whether an optional section is written `false`; any other scalar is an error.
    fileprivate func isTurnedOff(expected: String) throws(ConfigurationFileError) -> Bool {
        guard case .scalar = node, !isNull else { return false }
        guard try string(expected: expected) == "false" else { throw error(expected: "\(expected), or false") }
        return true
    }
}

extension StaleFallbackConfiguration {
    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        try section.read("max_age", into: &maxAge)
        if let node = section["max_age"], maxAge <= .zero || maxAge > TimeoutConfiguration.maximum {
            throw node.error(expected: "a duration above 0 and at most 24h")
        }
        try section.read("max_entries", into: &maxEntries)
        if let node = section["max_entries"], !(1...Self.maximumEntries).contains(maxEntries) {
            throw node.error(expected: "an integer from 1 to \(Self.maximumEntries)")
        }
    }
}

extension StaticFallbackConfiguration {
    static let keys = ["status", "headers", "body", "grpc_code", "grpc_message"]

    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        let statusExpected = "an HTTP status from 200 to 599"
        try section.read("status", into: &status, expected: statusExpected)
        if let node = section["status"], !Self.validStatuses.contains(status) {
            throw node.error(expected: statusExpected)
        }
        if let node = section["headers"] {
            for (name, value) in try node.entries(expected: "a mapping of header name to value") {
                // RFC 9110 §5.1: a field name is a token; §5.5: a value has no CR, LF or NUL.
                guard Self.isToken(name) else {
                    throw value.error(
                        expected: "a header name made of letters, digits and !#$%&'*+-.^_`|~",
                        value: ConfigurationNode.display(name)
                    )
                }
                let text = try value.string(expected: "a header value (a string)")
                guard !text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                    throw value.error(expected: "a header value without CR, LF or NUL")
                }
                headers.append(HeaderField(name: name, value: text))
            }
        }
        if let node = section["body"] {
            body = Array(try node.string(expected: "a string (the body as UTF-8)").utf8)
            guard body.count <= Self.maximumBodySize else {
                throw node.error(
                    expected: "a body of at most \(Self.maximumBodySize) bytes",
                    value: "\(body.count) bytes"
                )
            }
        }
        try section.read("grpc_code", into: &grpcCode, expected: "a gRPC status code from 0 to 16")
        if let node = section["grpc_code"], !(0...16).contains(grpcCode) {
            throw node.error(expected: "a gRPC status code from 0 to 16")
        }
        try section.read("grpc_message", into: &grpcMessage)
    }

    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy { scalar in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9": true
                case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": true
                default: false
                }
            }
    }
}
