import Foundation
import LeveeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `levee top`, in a pseudo-terminal as an operator sees it, and as plain lines for scripts.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TopCommandTests {
    static func failingAgentYAML(_ failing: String, _ healthy: String) -> String {
        """
        service: orders
        upstreams:
          payments:
            endpoints: ["\(failing)"]
            retry: { max_attempts: 1 }
            breaker: { min_calls: 3, failure_rate: 50, open_for: 1m }
          inventory:
            endpoints: ["\(healthy)"]
        """
    }

    @Test(
        "levee top in a terminal shows a failing upstream's breaker turn open; q quits and restores the screen",
        .enabled(if: TerminalChild.scriptPath != nil)
    )
    func topInATerminalShowsTheBreakerOpen() async throws {
        let failing = try await TestHTTPServer.start()
        failing.behaviour = .respond(status: 500, body: "boom")
        let healthy = try await TestHTTPServer.start()
        let agent = try await AgentProcess.start(yaml: Self.failingAgentYAML(failing.address, healthy.address))
        let levee = try CommandRunner.leveeExecutable()
        let top = try TerminalChild.start("\(levee) top --admin-socket \(agent.adminSocket) --interval 200")

        // The screen: the alternate screen, the service, both upstreams with payments still closed.
        let drawn = try await eventually(within: .seconds(15)) {
            top.output.contains("service orders") && Self.row("payments", in: top.output) != nil
        }
        #expect(drawn, "top never drew the upstreams: \(top.output.suffix(2000))")
        #expect(top.output.contains("\u{1B}[?1049h"))
        #expect(Self.row("payments", in: top.output)?.contains("closed") == true)
        #expect(Self.row("inventory", in: top.output) != nil)

        // Failing calls until the breaker opens.
        let opened = try await eventually(within: .seconds(15)) {
            _ = try await agent.levee("call", "payments", "/charge")
            let upstreams = try await agent.levee("upstreams", "payments", "--json").standardOutput
            return upstreams.contains("\"breaker\" : \"open\"")
        }
        #expect(opened, "the breaker did not open")

        // The screen follows: payments' newest row says open.
        let shown = try await eventually(within: .seconds(15)) {
            Self.lastRow("payments", in: top.output)?.contains(" open") == true
        }
        #expect(shown, "top did not show payments open: \(Self.lastRow("payments", in: top.output) ?? "no row")")

        try top.type("q")
        let status = await top.waitForExit(within: .seconds(10))
        #expect(status == 0, "\(top.output.suffix(500))")
        #expect(top.output.hasSuffix("\u{1B}[?25h\u{1B}[?1049l") || top.output.contains("\u{1B}[?1049l"))
    }

    @Test("levee top --once with stdout a pipe: one plain line per upstream, no escape codes; no agent: exit 3")
    func plainLines() async throws {
        let failing = try await TestHTTPServer.start()
        failing.behaviour = .respond(status: 500)
        let healthy = try await TestHTTPServer.start()
        let agent = try await AgentProcess.start(yaml: Self.failingAgentYAML(failing.address, healthy.address))
        #expect(try await agent.levee("call", "inventory", "/").status == 0)

        let once = try await agent.levee("top", "--once")
        #expect(once.status == 0, "\(once.output)")
        #expect(!once.standardOutput.contains("\u{1B}"))
        let lines = once.standardOutput.split(separator: "\n")
        #expect(lines.count == 2, "\(once.standardOutput)")
        #expect(lines.allSatisfy { $0.first?.isNumber == true })
        let inventory = lines.first { $0.contains(" inventory ") }
        #expect(inventory?.contains("breaker=closed") == true)
        #expect(inventory?.contains("endpoints=1/1") == true)
        #expect(inventory?.contains(" calls/s=") == true)
        #expect(lines.first { $0.contains(" payments ") } != nil)

        let json = try await agent.levee("top", "--once", "--json")
        #expect(json.status == 0)
        let objects = json.standardOutput.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.map { $0["name"] as? String } == ["inventory", "payments"])

        let absent = try await CommandRunner.levee("top", "--once", "--admin-socket", "\(agent.directory)/none.sock")
        #expect(absent.status == 3)
        #expect(absent.standardError.contains("no agent answers"))
    }

    /// The first line of the screen that shows `upstream`'s row, escape sequences removed.
    static func row(_ upstream: String, in screen: String) -> String? {
        rows(upstream, in: screen).first
    }

    /// The newest line of the screen that shows `upstream`'s row.
    static func lastRow(_ upstream: String, in screen: String) -> String? {
        rows(upstream, in: screen).last
    }

    private static func rows(_ upstream: String, in screen: String) -> [String] {
        let plain = screen.replacingOccurrences(
            of: "\u{1B}\\[[0-9;?]*[A-Za-z]",
            with: "\n",
            options: .regularExpression
        )
        return plain.split(whereSeparator: \.isNewline).map(String.init).filter { $0.hasPrefix(upstream + " ") }
    }
}
