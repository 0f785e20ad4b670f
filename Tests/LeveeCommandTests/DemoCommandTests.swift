import Foundation
import LeveeTestKit
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `levee demo --quick`: the chapter's scenario with real processes, and the story it must tell.
@Suite(.timeLimit(.minutes(3)))
struct DemoCommandTests {
    @Test(
        "levee demo --quick: the cascade unprotected; protected, the Inventory page keeps its success, the fallback answers and a probe closes the breaker"
    )
    func quickDemoTellsTheChaptersStory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("demo-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let chart = directory.appendingPathComponent("demo.svg").path

        let result = try await ChildProcess.run(
            CommandRunner.leveeExecutable(),
            ["demo", "--quick", "--json", "--chart", chart],
            timeout: .seconds(150)
        )
        try #require(result.status == 0, "\(result.output)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any],
            "\(result.output)"
        )
        let unprotected = try #require(report["unprotected"] as? [String: Any])
        let protected = try #require(report["protected"] as? [String: Any])
        func page(_ run: [String: Any], _ phase: String, _ page: String) throws -> [String: Any] {
            try #require((run[phase] as? [String: Any])?[page] as? [String: Any])
        }
        let context = "\(result.standardError)\n\(result.standardOutput.prefix(6000))"

        // Unprotected: Payments' sickness holds every worker, and the Inventory page falls with it.
        let cascade = try #require(try page(unprotected, "during", "inventory")["success_percent"] as? Double)
        #expect(cascade < 50, "\(context)")

        // Protected: the Inventory page keeps its success and its latency.
        let baseline = try #require(try page(protected, "before", "inventory")["p99_ms"] as? Double)
        let during = try page(protected, "during", "inventory")
        let success = try #require(during["success_percent"] as? Double)
        let p99 = try #require(during["p99_ms"] as? Double)
        #expect(success >= 99.9, "\(context)")

        // Once the breaker is open, every Payments-path answer is the fallback's.
        let fallback = try #require(protected["fallback_while_open"] as? [String: Any], "\(context)")
        let calls = try #require(fallback["calls"] as? Int)
        #expect((fallback["refused_by_breaker"] as? Int ?? 0) > 0, "\(context)")
        #expect(fallback["by_fallback"] as? Int == calls, "\(context)")
        let fallbackP99 = try #require(fallback["refused_p99_ms"] as? Double)

        // How fast is the demo's to measure and show (`levee demo`), not this test's to judge: tests never
        // assert on speed. (Judged while the load average was at most the cores, the fallback's 5 ms at
        // p99 still failed a fresh-clone CI run at 6.8 ms.) Printed for the log.
        print(
            "DemoCommandTests: Inventory page p99 \(p99) ms (baseline \(baseline) ms), fallback p99 \(fallbackP99) ms"
        )

        // A probe closes the breaker within open_for + 1 s of Payments healing.
        let breaker = try #require(protected["breaker"] as? [String: Any])
        let openFor = try #require(breaker["open_for"] as? Double)
        let closedAfter = try #require(breaker["closed_after_heal_seconds"] as? Double, "\(context)")
        #expect(breaker["closed_by_probe"] as? Bool == true, "\(context)")
        #expect(closedAfter <= openFor + 1, "\(context)")

        // The chart was written and is well-formed XML.
        let svg = try Data(contentsOf: URL(fileURLWithPath: chart))
        let parser = XMLParser(data: svg)
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(String(decoding: svg, as: UTF8.self).contains("<svg"))
    }
}
