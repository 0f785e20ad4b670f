import Foundation
import LeveeAgent
import Logging
import Synchronization
import Testing

/// `--log-format json`: one JSON object per line that any parser reads back.
@Suite
struct JSONLogHandlerTests {
    @Test("Each line is one JSON object with timestamp, level, label, message and metadata")
    func linesParse() throws {
        let lines = Lines()
        var logger = Logger(label: "levee") { label in
            JSONLogHandler(label: label) { line in lines.value.withLock { $0.append(line) } }
        }
        logger.logLevel = .info
        logger[metadataKey: "upstream"] = "payments"
        logger.notice("breaker CLOSED -> OPEN", metadata: ["cause": "failure rate 60% ≥ 50%"])
        logger.info("a \"quoted\"\nmulti-line\tmessage\u{1}", metadata: ["list": ["a", "b"], "map": ["k": "v"]])
        logger.debug("not written at info")

        let written = lines.value.withLock { $0 }
        #expect(written.count == 2)
        #expect(written.allSatisfy { $0.hasSuffix("}\n") && $0.dropLast().contains("\n") == false })
        let first = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(first["level"] as? String == "notice")
        #expect(first["label"] as? String == "levee")
        #expect(first["message"] as? String == "breaker CLOSED -> OPEN")
        let metadata = try #require(first["metadata"] as? [String: Any])
        #expect(metadata["upstream"] as? String == "payments")
        #expect(metadata["cause"] as? String == "failure rate 60% ≥ 50%")
        let timestamp = try #require(first["timestamp"] as? String)
        #expect(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(timestamp) <= Date())

        let second = try #require(try JSONSerialization.jsonObject(with: Data(written[1].utf8)) as? [String: Any])
        #expect(second["message"] as? String == "a \"quoted\"\nmulti-line\tmessage\u{1}")
        let secondMetadata = try #require(second["metadata"] as? [String: Any])
        #expect(secondMetadata["list"] as? [String] == ["a", "b"])
        #expect(secondMetadata["map"] as? [String: String] == ["k": "v"])
    }
}

/// The lines a handler wrote, shared with its write closure.
private final class Lines: Sendable {
    let value = Mutex<[String]>([])
}
