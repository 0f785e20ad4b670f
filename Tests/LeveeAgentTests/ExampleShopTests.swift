import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// examples/shop: a Python app that turns features off as its agent's service level drops.
@Suite(.timeLimit(.minutes(2)))
struct ExampleShopTests {
    @Test(
        "The example shop shows recommendations at FULL, a generic list at DEGRADED, the cached page and a banner at MINIMAL"
    )
    func shopFollowsTheLevel() async throws {
        let package = try await Python.installPackage()
        defer { try? FileManager.default.removeItem(atPath: package) }
        let recommendations = try await TestHTTPServer.start()
        recommendations.behaviour = .respond(status: 200, body: "Levee mug, Sandbag XL")
        let healthy = try await TestHTTPServer.start()
        healthy.behaviour = .respond(status: 200, body: "ok")
        try await AgentHarness.withAgent(
            yaml: DegradationTests.shop(recommendations: recommendations.address, essentials: healthy.address)
        ) { agent in
            let portFile = "\(package)/shop.port"
            let shop = Process()
            shop.executableURL = URL(fileURLWithPath: Python.executable)
            shop.arguments = [
                Python.path("examples/shop/shop.py"), "--socket", agent.configuration.listen.socket,
                "--listen", "127.0.0.1:0", "--port-file", portFile, "--python-path", package,
            ]
            shop.standardOutput = FileHandle.nullDevice
            shop.standardError = FileHandle.nullDevice
            try shop.run()
            // SIGKILL: a child inherits the test runner's blocked signals, SIGTERM included.
            defer {
                kill(shop.processIdentifier, SIGKILL)
                shop.waitUntilExit()
            }
            try await eventually("the shop listens", timeout: .seconds(60)) {
                FileManager.default.fileExists(atPath: portFile)
            }
            let port = try #require(Int(try String(contentsOfFile: portFile, encoding: .utf8)))

            try await eventually("the page shows personalised recommendations at FULL") {
                let page = try await TestHTTPConnection.send(port: port, uri: "/")
                return page.header("x-service-level") == "FULL" && page.bodyString.contains("Recommended for you")
                    && page.bodyString.contains("Levee mug, Sandbag XL")
            }

            // Recommendations fails until its breaker opens: the shop stops asking it.
            recommendations.behaviour = .respond(status: 500, body: "down")
            for _ in 0..<3 { _ = try await agent.call("recommendations") }
            try await eventually("the page shows the generic list at DEGRADED") {
                let page = try await TestHTTPConnection.send(port: port, uri: "/")
                return page.header("x-service-level") == "DEGRADED" && page.bodyString.contains("Popular right now")
            }
            let asked = recommendations.requestCount
            for _ in 0..<3 {
                let page = try await TestHTTPConnection.send(port: port, uri: "/")
                #expect(!page.bodyString.contains("Recommended for you"))
            }
            #expect(recommendations.requestCount == asked)

            // Payments and inventory both down: the saved page under a banner.
            try await agent.setBreaker("payments", .open)
            try await agent.setBreaker("inventory", .open)
            try await eventually("the page is the cached copy with a banner at MINIMAL") {
                let page = try await TestHTTPConnection.send(port: port, uri: "/")
                return page.header("x-service-level") == "MINIMAL" && page.bodyString.contains("checkout is paused")
                    && page.bodyString.contains("Popular right now")
            }
            let level = try await TestHTTPConnection.send(port: port, uri: "/level")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(level.body)) as? [String: Any])
            #expect(json["reasons"] as? [String] == ["minimal: payments and inventory breakers open"])

            // Everything recovers: all features come back.
            recommendations.behaviour = .respond(status: 200, body: "Levee mug, Sandbag XL")
            for upstream in ["payments", "inventory", "recommendations"] {
                try await agent.setBreaker(upstream, .reset)
            }
            try await eventually("the page shows recommendations again") {
                let page = try await TestHTTPConnection.send(port: port, uri: "/")
                return page.header("x-service-level") == "FULL" && page.bodyString.contains("Recommended for you")
                    && !page.bodyString.contains("checkout is paused")
            }
        }
        try await recommendations.stop()
        try await healthy.stop()
    }
}
