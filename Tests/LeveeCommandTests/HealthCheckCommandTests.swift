import Foundation
import LeveeTestKit
import Testing

/// `levee upstreams` shows each endpoint's active health check and rotation.
@Suite(.timeLimit(.minutes(3)))
struct HealthCheckCommandTests {
    @Test("levee upstreams shows per endpoint its health, the last failure and whether it is in rotation")
    func upstreamsShowEndpointHealth() async throws {
        let good = try await TestHTTPServer.start()
        let sick = try await TestHTTPServer.start()
        sick.setBehaviour(.respond(status: 503), forPath: "/healthz")
        let agent = try await AgentProcess.start(
            yaml: """
                upstreams:
                  payments:
                    endpoints: ["\(good.address)", "\(sick.address)"]
                    health_check: { interval: 500ms, timeout: 450ms, unhealthy_threshold: 2 }
                """
        )
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        var sickEndpoint: [String: Any]?
        while clock.now < deadline {
            let upstreams = try await agent.levee("upstreams", "--json")
            let list = try JSONSerialization.jsonObject(with: Data(upstreams.standardOutput.utf8)) as? [[String: Any]]
            let endpoints = list?.first?["endpoints"] as? [[String: Any]] ?? []
            sickEndpoint = endpoints.first { $0["address"] as? String == sick.address }
            if sickEndpoint?["health"] as? String == "unhealthy"
                && sickEndpoint?["health_detail"] as? String == "status 503"
            {
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(sickEndpoint?["health"] as? String == "unhealthy")
        #expect(sickEndpoint?["health_detail"] as? String == "status 503")
        #expect(sickEndpoint?["in_rotation"] as? Bool == false)

        let table = try await agent.levee("upstreams")
        #expect(table.status == 0)
        let row = table.standardOutput.split(separator: "\n").first { $0.contains(sick.address) }
        #expect(row?.contains("unhealthy") == true, "\(table.output)")
        #expect(row?.contains("status 503") == true, "\(table.output)")
        #expect(row?.contains(" out ") == true, "\(table.output)")
        try await good.stop()
        try await sick.stop()
    }
}
