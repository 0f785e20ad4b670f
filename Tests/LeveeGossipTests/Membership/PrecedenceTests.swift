import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

/// The rules of memberlist state.go `aliveNode`, `suspectNode` and `deadNode` (wire reference §3.5).
struct MembershipPrecedenceTests {
    enum Kind: String, Sendable { case alive, suspect, dead, left }

    struct Case: Sendable, CustomTestStringConvertible {
        var kind: Kind
        /// Known incarnation is 5; the message carries 5 + delta.
        var delta: Int
        var expectedState: MemberState
        var expectedIncarnation: Incarnation
        var testDescription: String { "\(kind) with incarnation \(5 + delta) on alive@5" }
    }

    static let cases: [Case] = [
        Case(kind: .alive, delta: -1, expectedState: .alive, expectedIncarnation: 5),
        Case(kind: .alive, delta: 0, expectedState: .alive, expectedIncarnation: 5),
        Case(kind: .alive, delta: 1, expectedState: .alive, expectedIncarnation: 6),
        Case(kind: .suspect, delta: -1, expectedState: .alive, expectedIncarnation: 5),
        Case(kind: .suspect, delta: 0, expectedState: .suspect, expectedIncarnation: 5),
        Case(kind: .suspect, delta: 1, expectedState: .suspect, expectedIncarnation: 6),
        Case(kind: .dead, delta: -1, expectedState: .alive, expectedIncarnation: 5),
        Case(kind: .dead, delta: 0, expectedState: .dead, expectedIncarnation: 5),
        Case(kind: .dead, delta: 1, expectedState: .dead, expectedIncarnation: 6),
        Case(kind: .left, delta: -1, expectedState: .alive, expectedIncarnation: 5),
        Case(kind: .left, delta: 0, expectedState: .left, expectedIncarnation: 5),
        Case(kind: .left, delta: 1, expectedState: .left, expectedIncarnation: 6),
    ]

    static func message(_ kind: Kind, incarnation: Incarnation, about node: String = "p1") -> Message {
        switch kind {
        case .alive: .alive(MembershipFixture.alive(node, incarnation: incarnation))
        case .suspect: .suspect(Suspect(incarnation: incarnation, node: node, from: "p2"))
        case .dead: .dead(Dead(incarnation: incarnation, node: node, from: "p2"))
        case .left: .dead(Dead(incarnation: incarnation, node: node, from: node))
        }
    }

    @Test("gossip about an alive member", arguments: cases)
    func aboutAliveMember(_ testCase: Case) throws {
        var fixture = try MembershipFixture(peers: 3)
        fixture.receive(.alive(MembershipFixture.alive("p1", incarnation: 5)))
        #expect(fixture.incarnation("p1") == 5)
        fixture.receive(Self.message(testCase.kind, incarnation: Incarnation(5 + testCase.delta)))
        #expect(fixture.state("p1") == testCase.expectedState)
        #expect(fixture.incarnation("p1") == testCase.expectedIncarnation)
    }

    @Test("an equal-incarnation alive does not clear a suspicion; a higher one does")
    func aliveAgainstSuspect() throws {
        var fixture = try MembershipFixture(peers: 3)
        fixture.receive(.suspect(Suspect(incarnation: 1, node: "p1", from: "p2")))
        #expect(fixture.state("p1") == .suspect)
        fixture.receive(.alive(MembershipFixture.alive("p1", incarnation: 1)))
        #expect(fixture.state("p1") == .suspect)
        #expect(fixture.instance.suspicion(of: "p1") != nil)
        fixture.receive(.alive(MembershipFixture.alive("p1", incarnation: 2)))
        #expect(fixture.state("p1") == .alive)
        #expect(fixture.instance.suspicion(of: "p1") == nil)
    }

    @Test("suspect and dead about a dead member are ignored; a newer alive brings it back as a join")
    func aboutDeadMember() throws {
        var fixture = try MembershipFixture(peers: 3)
        fixture.receive(.dead(Dead(incarnation: 1, node: "p1", from: "p2")))
        #expect(fixture.state("p1") == .dead)
        fixture.receive(.suspect(Suspect(incarnation: 3, node: "p1", from: "p2")))
        #expect(fixture.state("p1") == .dead)
        fixture.receive(.dead(Dead(incarnation: 3, node: "p1", from: "p1")))
        #expect(fixture.state("p1") == .dead)
        let directives = fixture.receive(.alive(MembershipFixture.alive("p1", incarnation: 2)))
        #expect(fixture.state("p1") == .alive)
        #expect(MembershipFixture.events(directives).map(\.member.name) == ["p1"])
        guard case .joined? = MembershipFixture.events(directives).first else {
            Issue.record("expected a join event")
            return
        }
    }

    @Test("a dead with From == Node is a leave, any other From a failure")
    func leaveVersusFailure() throws {
        var fixture = try MembershipFixture(peers: 3)
        let left = MembershipFixture.events(fixture.receive(.dead(Dead(incarnation: 1, node: "p1", from: "p1"))))
        let failed = MembershipFixture.events(fixture.receive(.dead(Dead(incarnation: 1, node: "p2", from: "p3"))))
        #expect(left.count == 1 && { if case .left = left[0] { true } else { false } }())
        #expect(failed.count == 1 && { if case .failed = failed[0] { true } else { false } }())
    }

    @Test("alive at incarnation 0 for an unknown node is ignored")
    func aliveZeroIgnored() throws {
        var fixture = try MembershipFixture(peers: 1)
        fixture.receive(.alive(MembershipFixture.alive("p9", incarnation: 0)))
        #expect(fixture.instance.member(named: "p9") == nil)
        fixture.receive(.alive(MembershipFixture.alive("p9", incarnation: 1)))
        #expect(fixture.state("p9") == .alive)
    }

    @Test("a meta change at a higher incarnation is an update event")
    func metaUpdate() throws {
        var fixture = try MembershipFixture(peers: 1)
        let directives = fixture.receive(.alive(MembershipFixture.alive("p1", incarnation: 2, meta: [0xff, 0x80])))
        #expect(fixture.instance.member(named: "p1")?.meta == [0xff, 0x80])
        guard case .updated? = MembershipFixture.events(directives).first else {
            Issue.record("expected an update event")
            return
        }
    }

    @Test("a live member's name from another address is a conflict and changes nothing")
    func nameConflict() throws {
        var fixture = try MembershipFixture(peers: 1)
        let other = NodeAddress.ipv4(192, 168, 0, 9, port: 7946)
        let claim = Alive(incarnation: 9, node: "p1", addr: other.ip, port: other.port, meta: [])
        let directives = fixture.receive(.alive(claim))
        #expect(fixture.incarnation("p1") == 1)
        #expect(fixture.instance.counters.nameConflicts == 1)
        #expect(directives.contains { if case .nameConflict = $0 { true } else { false } })
    }

    struct SelfCase: Sendable, CustomTestStringConvertible {
        var message: Message
        var refutes: Bool
        var expectedIncarnation: Incarnation
        var testDescription: String { "\(message) → \(refutes ? "refute at \(expectedIncarnation)" : "ignore")" }
    }

    static let selfCases: [SelfCase] = [
        SelfCase(
            message: .suspect(Suspect(incarnation: 1, node: "self", from: "p1")),
            refutes: true,
            expectedIncarnation: 2
        ),
        SelfCase(
            message: .suspect(Suspect(incarnation: 7, node: "self", from: "p1")),
            refutes: true,
            expectedIncarnation: 8
        ),
        SelfCase(
            message: .suspect(Suspect(incarnation: 0, node: "self", from: "p1")),
            refutes: false,
            expectedIncarnation: 1
        ),
        SelfCase(message: .dead(Dead(incarnation: 3, node: "self", from: "p1")), refutes: true, expectedIncarnation: 4),
        SelfCase(
            message: .dead(Dead(incarnation: 1, node: "self", from: "self")),
            refutes: true,
            expectedIncarnation: 2
        ),
        SelfCase(
            message: .alive(Alive(incarnation: 1, node: "self", addr: [10, 0, 0, 1], port: 7946, meta: [0xff, 0x80])),
            refutes: false,
            expectedIncarnation: 1
        ),
        SelfCase(
            message: .alive(Alive(incarnation: 1, node: "self", addr: [10, 0, 0, 1], port: 7946, meta: [0xff, 0x81])),
            refutes: true,
            expectedIncarnation: 2
        ),
        SelfCase(
            message: .alive(Alive(incarnation: 4, node: "self", addr: [10, 0, 0, 1], port: 7946, meta: [0xff, 0x80])),
            refutes: true,
            expectedIncarnation: 5
        ),
        SelfCase(
            message: .suspect(Suspect(incarnation: .max, node: "self", from: "p1")),
            refutes: true,
            expectedIncarnation: .max
        ),
    ]

    @Test("gossip about ourselves: refute with max(own + 1, accused + 1)", arguments: selfCases)
    func aboutSelf(_ testCase: SelfCase) throws {
        var fixture = try MembershipFixture(peers: 2)
        fixture.receive(testCase.message)
        #expect(fixture.state("self") == .alive)
        #expect(fixture.instance.incarnation == testCase.expectedIncarnation)
        #expect(fixture.instance.counters.refutations == (testCase.refutes ? 1 : 0))
        #expect(fixture.instance.healthScore == (testCase.refutes ? 1 : 0))
        if testCase.refutes {
            // The refutation is gossiped: our alive at the new incarnation is queued and goes out.
            let sent = MembershipFixture.messages(fixture.advance(by: .milliseconds(400)))
            #expect(
                sent.contains {
                    if case .alive(let alive) = $0 {
                        alive.node == "self" && alive.incarnation == testCase.expectedIncarnation
                    } else {
                        false
                    }
                }
            )
        }
    }

    @Test("invalid versions and addresses are ignored and counted")
    func invalidAlive() throws {
        var fixture = try MembershipFixture(peers: 1)
        var bad = MembershipFixture.alive("p7", incarnation: 3)
        bad.versions.protocolMin = 6
        fixture.receive(.alive(bad))
        var badAddress = MembershipFixture.alive("p8", incarnation: 3)
        badAddress.addr = [1, 2, 3]
        fixture.receive(.alive(badAddress))
        #expect(fixture.instance.member(named: "p7") == nil)
        #expect(fixture.instance.member(named: "p8") == nil)
        #expect(fixture.instance.counters.invalidMessages == 2)
    }
}
