import LeveeAgent
import LeveePolicy
import LeveeTestKit
import Testing

/// The `levee-health` payload and the board of peers' reports (pure: a manual clock).
struct HealthReportTests {
    @Test(arguments: [
        HealthReport.breaker(node: "agent-a", upstream: "payments", open: true),
        .breaker(node: "agent-b", upstream: "payments", open: false),
        .endpoint(node: "agent-a", upstream: "payments", endpoint: "10.0.0.1:8080", ejected: true),
        .endpoint(node: "a", upstream: "b", endpoint: "[::1]:80", ejected: false),
    ])
    func roundTrips(_ report: HealthReport) {
        #expect(HealthReport(payload: report.payload) == report)
    }

    @Test func payloadIsReadableText() {
        let report = HealthReport.breaker(node: "agent-a", upstream: "payments", open: true)
        #expect(String(decoding: report.payload, as: UTF8.self) == "v1 breaker agent-a payments open")
    }

    @Test(arguments: [
        "", "v1", "v2 breaker a b open", "v1 breaker a b maybe", "v1 breaker a b", "v1 breaker a b open extra",
        "v1 endpoint a b c gone", "v1  breaker a b open", "v1 fuse a b open", String(repeating: "x", count: 600),
    ])
    func malformedPayloadsAreRefused(_ text: String) {
        #expect(HealthReport(payload: Array(text.utf8)) == nil)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(HealthReport(payload: [0x76, 0x31, 0x20, 0xFF, 0xFE]) == nil)
    }

    @Test func theBoardCountsLivePeersWithFreshOpenReports() {
        var clock = ManualClock()
        var board = PeerHealthBoard(ttl: .seconds(30))
        board.record(.breaker(node: "a", upstream: "payments", open: true), now: clock.now)
        board.record(.breaker(node: "b", upstream: "payments", open: true), now: clock.now)
        board.record(.breaker(node: "c", upstream: "payments", open: false), now: clock.now)
        board.record(.breaker(node: "d", upstream: "inventory", open: true), now: clock.now)
        #expect(board.peersReportingOpen("payments", live: ["a", "b", "c"], now: clock.now) == ["a", "b"])
        // A peer that is not alive does not count.
        #expect(board.peersReportingOpen("payments", live: ["a", "c"], now: clock.now) == ["a"])
        // A later "closed" replaces the "open".
        clock.advance(by: .seconds(1))
        board.record(.breaker(node: "a", upstream: "payments", open: false), now: clock.now)
        #expect(board.peersReportingOpen("payments", live: ["a", "b"], now: clock.now) == ["b"])
        // Reports expire after the TTL.
        clock.advance(by: .seconds(29))
        #expect(board.peersReportingOpen("payments", live: ["a", "b"], now: clock.now) == [])
        board.expire(now: clock.now)
        #expect(board.peersReportingOpen("inventory", live: ["d"], now: clock.now) == [])
    }
}
