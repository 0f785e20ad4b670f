import LeveeTestKit

/// A parsed Prometheus text exposition (format 0.0.4): the `# TYPE` of each family and every sample,
/// enough for tests to read what a scraper would.
struct PrometheusText {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    var types: [String: String] = [:]
    var samples: [Sample] = []

    /// Parses `text`; throws on a line that is neither a comment nor a well-formed sample.
    init(_ text: String) throws {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2 else { throw Malformed(description: "bad TYPE line: \(line)") }
                types[String(parts[0])] = String(parts[1])
                continue
            }
            if line.hasPrefix("#") { continue }
            samples.append(try Self.sample(line))
        }
    }

    private static func sample(_ line: Substring) throws -> Sample {
        var rest = line[...]
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        guard !name.isEmpty else { throw Malformed(description: "no name: \(line)") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = String(rest.prefix { $0 != "=" })
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw Malformed(description: "bad label in: \(line)") }
                rest = rest.dropFirst(2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    if character == "\\", let next = rest.dropFirst().first {
                        value.append(next == "n" ? "\n" : next)
                        rest = rest.dropFirst(2)
                    } else {
                        value.append(character)
                        rest = rest.dropFirst()
                    }
                }
                guard rest.first == "\"" else { throw Malformed(description: "unterminated label in: \(line)") }
                rest = rest.dropFirst()
                labels[key] = value
                if rest.first == "," { rest = rest.dropFirst() }
                guard !rest.isEmpty else { throw Malformed(description: "unterminated labels in: \(line)") }
            }
            rest = rest.dropFirst()
        }
        let fields = rest.split(separator: " ")
        guard let first = fields.first, let value = Double(first) ?? (first == "+Inf" ? .infinity : nil) else {
            throw Malformed(description: "bad value in: \(line)")
        }
        return Sample(name: name, labels: labels, value: value)
    }

    /// The value of the one sample named `name` whose labels include `labels`; nil when none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }?.value
    }

    /// Every metric family name, histograms by their family name (without `_bucket`, `_sum`, `_count`).
    var families: Set<String> {
        Set(types.keys)
    }

    /// Scrapes `path` of the HTTP listener at `address` (`host:port`).
    static func scrape(_ address: String, path: String = "/metrics") async throws -> (TestHTTPResponse, PrometheusText)
    {
        let response = try await get(address, path: path)
        return (response, try PrometheusText(response.bodyString))
    }

    static func get(_ address: String, path: String, method: String = "GET") async throws -> TestHTTPResponse {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw Malformed(description: "not host:port: \(address)")
        }
        return try await TestHTTPConnection.send(host: String(address[..<colon]), port: port, method: method, uri: path)
    }
}
