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
        .suspect(node: "agent-a", upstream: "payments", streak: 5),
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
        "v1 suspect a b", "v1 suspect a b 0", "v1 suspect a b -3", "v1 suspect a b many", "v1 suspect a b 5 extra",
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

    @Test func suspicionsCountForAShortTimeAndAVerdictEndsThem() {
        var clock = ManualClock()
        var board = PeerHealthBoard(ttl: .seconds(30), suspicionTTL: .seconds(5))
        board.record(.suspect(node: "a", upstream: "payments", streak: 5), now: clock.now)
        board.record(.suspect(node: "b", upstream: "payments", streak: 7), now: clock.now)
        board.record(.suspect(node: "c", upstream: "inventory", streak: 5), now: clock.now)
        #expect(board.peersSuspecting("payments", live: ["a", "b", "c"], now: clock.now) == ["a", "b"])
        #expect(board.peersSuspecting("payments", live: ["b"], now: clock.now) == ["b"])
        // A breaker report is the peer's verdict: its suspicion ends.
        board.record(.breaker(node: "a", upstream: "payments", open: true), now: clock.now)
        #expect(board.peersSuspecting("payments", live: ["a", "b"], now: clock.now) == ["b"])
        #expect(board.peersReportingOpen("payments", live: ["a", "b"], now: clock.now) == ["a"])
        clock.advance(by: .seconds(5))
        #expect(board.peersSuspecting("payments", live: ["a", "b"], now: clock.now) == [])
        board.expire(now: clock.now)
        #expect(board.peersSuspecting("inventory", live: ["c"], now: clock.now) == [])
        #expect(board.peersReportingOpen("payments", live: ["a"], now: clock.now) == ["a"])
    }
}
