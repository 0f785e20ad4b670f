import Foundation
import LeveeTestKit
import Testing

/// The adaptive limit as the operator sees it: `levee upstreams` (table and `--json`) and `levee top`.
@Suite(.timeLimit(.minutes(2)))
struct AdaptiveCommandTests {
    @Test("levee upstreams and levee top show the adaptive limit, its algorithm and its RTT estimates")
    func upstreamsAndTopShowTheAdaptiveLimit() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "ok")
        let agent = try await AgentProcess.start(
            yaml: """
                service: orders
                upstreams:
                  payments:
                    endpoints: ["\(server.address)"]
                    bulkhead: { adaptive: { algorithm: aimd, min: 1, max: 40, initial: 1 } }
                  inventory:
                    endpoints: ["\(server.address)"]
                """
        )
        // One call at a time: AIMD adds a slot per window (eleven samples) while at least half are busy,
        // so 1 -> 2 -> 3 after 22 calls, then holds.
        for _ in 0..<22 { #expect(try await agent.levee("call", "payments", "/").status == 0) }

        let json = try await agent.levee("upstreams", "--json")
        #expect(json.status == 0, "\(json.output)")
        let upstreams = try #require(
            try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]]
        )
        let payments = try #require(upstreams.first { $0["name"] as? String == "payments" })
        let adaptive = try #require(payments["adaptive"] as? [String: Any])
        #expect(adaptive["algorithm"] as? String == "aimd")
        #expect(adaptive["limit"] as? Int == 3)
        #expect(payments["max_concurrent"] as? Int == 3)
        #expect(adaptive["min"] as? Int == 1 && adaptive["max"] as? Int == 40)
        #expect((adaptive["rtt_short_us"] as? Int ?? 0) > 0 && (adaptive["rtt_long_us"] as? Int ?? 0) > 0)
        #expect(adaptive["samples"] as? Int == 2)
        #expect(upstreams.first { $0["name"] as? String == "inventory" }?["adaptive"] == nil)

        let table = try await agent.levee("upstreams").standardOutput
        #expect(table.contains("ADAPTIVE"))
        let row = table.split(separator: "\n").first { $0.hasPrefix("payments") && $0.contains("aimd") }
        #expect(row?.contains(" 3 ") == true, "\(table)")

        let top = try await agent.levee("top", "--once").standardOutput
        let line = top.split(separator: "\n").first { $0.contains(" payments ") }
        #expect(line?.contains("aimd_limit=3") == true, "\(top)")
        #expect(line?.contains("rtt_short=") == true)
        try await server.stop()
    }
}
