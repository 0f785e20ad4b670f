import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

/// Lifeguard's dynamic suspicion timeout (memberlist suspicion.go, util.go `suspicionTimeout`;
/// wire reference §3.4).
struct MembershipSuspicionTests {
    @Test(
        "minimum timeout on LAN: 4 s below 10 nodes, 8 s at 100, 12 s at 1000",
        arguments: [(1, 4000), (5, 4000), (9, 4000), (10, 4000), (100, 8000), (1000, 12000), (50, 6792)]
    )
    func minimumTimeout(nodes: Int, milliseconds: Int64) {
        let timeout = Suspicion.minimumTimeout(suspicionMult: 4, nodeCount: nodes, probeInterval: .seconds(1))
        #expect(timeout == .milliseconds(milliseconds))
    }

    @Test("k = suspicionMult − 2, or 0 when fewer than k others could confirm")
    func expectedConfirmations() {
        #expect(Suspicion.expectedConfirmations(suspicionMult: 4, nodeCount: 3) == 0)
        #expect(Suspicion.expectedConfirmations(suspicionMult: 4, nodeCount: 4) == 2)
        #expect(Suspicion.expectedConfirmations(suspicionMult: 6, nodeCount: 100) == 4)
    }

    @Test("confirmations shorten the wait from max towards min")
    func confirmations() {
        let start = Instant(nanoseconds: 1_000_000_000)
        var suspicion = Suspicion(
            from: "a",
            expectedConfirmations: 2,
            minimum: .seconds(4),
            maximum: .seconds(24),
            now: start
        )
        #expect(suspicion.deadline == start + .seconds(24))
        let repeated = suspicion.confirm(from: "a", now: start + .seconds(1))
        #expect(!repeated)
        let second = suspicion.confirm(from: "b", now: start + .seconds(1))
        #expect(second)
        // 24 − ln(2)/ln(3) × 20 = 11.381… s, floored to the millisecond.
        #expect(suspicion.deadline == start + .milliseconds(11381))
        let third = suspicion.confirm(from: "c", now: start + .seconds(2))
        #expect(third)
        #expect(suspicion.deadline == start + .seconds(4))
        let beyond = suspicion.confirm(from: "d", now: start + .seconds(2))
        #expect(!beyond)
        #expect(suspicion.confirmations == 2)
    }

    @Test("without expected confirmations the timer is the minimum")
    func noConfirmationsExpected() {
        let suspicion = Suspicion(
            from: "a",
            expectedConfirmations: 0,
            minimum: .seconds(4),
            maximum: .seconds(24),
            now: .zero
        )
        #expect(suspicion.deadline == .zero + .seconds(4))
    }

    @Test("a suspect member is declared dead at the timeout, sooner with confirmations")
    func instanceTimeout() throws {
        // 4 peers + self = 5 nodes: k = 2, min 4 s, max 24 s.
        var fixture = try MembershipFixture(peers: 4, settings: MembershipSettings(pushPullInterval: .zero))
        let start = fixture.clock.now
        fixture.receive(.suspect(Suspect(incarnation: 1, node: "p1", from: "p2")))
        #expect(fixture.instance.suspicion(of: "p1")?.deadline == start + .seconds(24))
        fixture.receive(.suspect(Suspect(incarnation: 1, node: "p1", from: "p3")))
        #expect(fixture.instance.counters.confirmations == 1)
        fixture.receive(.suspect(Suspect(incarnation: 1, node: "p1", from: "p4")))
        #expect(fixture.instance.suspicion(of: "p1")?.deadline == start + .seconds(4))
        fixture.advance(to: start + .milliseconds(3999))
        #expect(fixture.state("p1") == .suspect)
        let directives = fixture.advance(to: start + .seconds(4))
        #expect(fixture.state("p1") == .dead)
        #expect(
            MembershipFixture.events(directives).contains {
                if case .failed(let m) = $0 { m.name == "p1" } else { false }
            }
        )
    }

    @Test("a refutation before the timeout cancels the suspicion")
    func refutedInTime() throws {
        var fixture = try MembershipFixture(peers: 4, settings: MembershipSettings(probeInterval: .seconds(3600)))
        fixture.receive(.suspect(Suspect(incarnation: 1, node: "p1", from: "p2")))
        fixture.advance(by: .seconds(3))
        fixture.receive(.alive(MembershipFixture.alive("p1", incarnation: 2)))
        fixture.advance(by: .seconds(30))
        #expect(fixture.state("p1") == .alive)
    }
}

/// Lifeguard local health (memberlist awareness.go; wire reference §3.3).
struct MembershipAwarenessTests {
    @Test("the score is clamped to 0…max − 1 and scales timeouts by score + 1")
    func clampAndScale() {
        var awareness = Awareness(maxMultiplier: 8)
        awareness.apply(delta: -1)
        #expect(awareness.score == 0)
        awareness.apply(delta: 3)
        #expect(awareness.scale(.seconds(1)) == .seconds(4))
        awareness.apply(delta: 10)
        #expect(awareness.score == 7)
        #expect(awareness.scale(.milliseconds(500)) == .seconds(4))
    }
}
