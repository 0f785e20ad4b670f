import LeveeConfiguration
import LeveePolicy
import Testing

/// The parser must answer every input with a configuration or a `ConfigurationFileError`, never a
/// trap: these feed it garbage of every kind and only ask that it returns.
@Suite("malformed input")
struct MalformedInputTests {
    static let malformed: [String] = [
        "\0",
        "\u{1}\u{2}\u{3}",
        "{",
        "}",
        "[",
        "]]]]",
        "'unterminated",
        "\"unterminated",
        "service: \"\\xZZ\"",
        "key: value: other",
        ":",
        "- - - -",
        "&a [*a]",
        "*undefined",
        "a: &x 1\nb: *y",
        "%YAML 9.9\n---\nservice: x",
        "%TAG ! tag:x\n---\n!foo x",
        "service: |\n bad\n  indent\n wrong",
        "\t- tab",
        "upstreams:\n  a:\n  endpoints: [\"a:1\"]\n   x: 1",
        "? ? ? ?",
        "upstreams: 5",
        "upstreams: [a, b]",
        "upstreams:\n  a: 5",
        "upstreams:\n  a: [1]",
        "upstreams:\n  a:\n    endpoints: [[\"a:1\"]]",
        "upstreams:\n  a:\n    endpoints: [{a: 1}]",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    retry: 7",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    retry: { on: {a: 1} }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    breaker: { window: 5 }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    breaker: { window: { kind: [count] } }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    breaker: { failure_rate: .nan }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    breaker: { failure_rate: 1e999 }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    breaker: { min_calls: 99999999999999999999999 }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    breaker: { min_calls: -9223372036854775808 }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    breaker: { window: { kind: time, size: 9223372036s } }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    breaker: { window: { kind: time, size: 10s, bucket: 0s } }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    timeouts: { total: 2562047h }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    fallback: { static: { body: [1, 2] } }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    fallback: { static: 1 }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    fallback: { static: { headers: [a] } }",
        "upstreams:\n  a:\n    endpoints: [\"a:1\"]\n    load_balancing: [x]",
        "defaults: [1]",
        "defaults: { breaker: 3 }",
        "defaults: { endpoints: 3 }",
        "listen: /tmp/x.sock",
        "listen: { socket: { a: 1 } }",
        "gossip: [1]",
        "gossip: { join: x }",
        "gossip: { encrypt_key: \"====\" }",
        "gossip: { encrypt_key: \"A===\" }",
        "gossip: { bind: \"[::1\" }",
        "gossip: { quorum: 1.5 }",
        "service: [a]",
        "service: ~",
        "dynamic_upstreams: [true]",
        String(repeating: "[", count: 5_000),
        String(repeating: "{a: ", count: 2_000),
        String(repeating: "- ", count: 2_000) + "x",
        (0..<1_200).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n"),
        "upstreams:\n" + String(repeating: "  ", count: 1) + (0..<500).map { "a\($0): {" }.joined() + "}",
    ]

    @Test(arguments: malformed)
    func malformedDocumentIsAnError(yaml: String) {
        #expect(parseError(yaml) != nil, "accepted: \(yaml.prefix(60))")
    }

    /// Every value of the DESIGN.md example replaced by a value of each wrong kind.
    @Test func wrongTypesEverywhere() {
        let replacements = [
            "[1, 2]", "{ a: 1 }", "~", "\"\"", "-1", "0", "1e999", "99999999999999999999", "!!binary AAAA", "*nope",
            "&x { }",
        ]
        let lines = designExampleWithKey.split(separator: "\n", omittingEmptySubsequences: false)
        var documents = 0
        for (index, line) in lines.enumerated() {
            guard let colon = line.firstIndex(of: ":"),
                line[line.index(after: colon)...].contains(where: { !$0.isWhitespace })
            else { continue }
            for replacement in replacements {
                var changed = lines
                changed[index] = line[...colon] + " " + replacement
                _ = parseError(changed.joined(separator: "\n"))
                documents += 1
            }
        }
        #expect(documents > 250)
    }

    /// Every prefix of the example: truncated files, cut in the middle of any token.
    @Test func everyTruncation() {
        let bytes = Array(designExampleWithKey.utf8)
        for count in 0..<bytes.count {
            _ = parseError(String(decoding: bytes[0..<count], as: UTF8.self))
        }
    }

    /// Random bytes, and the example with random bytes flipped, from a fixed seed.
    @Test func randomBytes() {
        var random = SplitMix64(seed: 0x1e7ee)
        let example = Array(designExampleWithKey.utf8)
        for round in 0..<400 {
            let bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<300, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            } else {
                var mutated = example
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    mutated[Int.random(in: 0..<mutated.count, using: &random)] = UInt8.random(
                        in: 0...127,
                        using: &random
                    )
                }
                bytes = mutated
            }
            _ = parseError(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Anchors and aliases work, and an alias used many times costs no more than its uses.
    @Test func aliases() throws {
        let configuration = try parse(
            """
            upstreams:
              a: &upstream
                endpoints: ["127.0.0.1:1"]
                breaker: &strict { min_calls: 5, failure_rate: 20 }
              b: *upstream
              c:
                endpoints: ["127.0.0.1:2"]
                breaker: *strict
            """
        )
        #expect(configuration.upstreams.map(\.policy.breaker.minCalls) == [5, 5, 5])
    }

    /// A "billion laughs" document: nested aliases that would expand to 10^9 endpoints. Only the
    /// schema's keys are read and a list item of the wrong type stops the read, so it fails at once.
    @Test func aliasBomb() {
        var yaml = """
            upstreams:
              a0:
                endpoints: ["127.0.0.1:1"]
                retry: { idempotent_methods: &a0 [/p.S/M, /p.S/M, /p.S/M, /p.S/M, /p.S/M, /p.S/M, /p.S/M] }

            """
        for level in 1...9 {
            let items = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            yaml += "  a\(level): { endpoints: &a\(level) [\(items)] }\n"
        }
        let error = parseError(yaml)
        #expect(error?.keyPath == "upstreams.a1.endpoints[0]")
        // The item is the aliased list itself, so its line is where the anchor wrote it.
        #expect(error?.line == 4)
    }
}
