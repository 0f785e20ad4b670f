import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

/// Push/pull merge, version checks and join (memberlist state.go `mergeState`, net.go
/// `verifyProtocol`, memberlist.go `Join`; wire reference §3.5, §3.7).
struct MembershipPushPullTests {
    static func state(_ name: String, _ state: MemberState, incarnation: Incarnation = 3) -> PushNodeState {
        let address = MembershipFixture.address(of: name)
        return PushNodeState(
            name: name,
            addr: address.ip,
            port: address.port,
            meta: [],
            incarnation: incarnation,
            state: state
        )
    }

    @Test("remote Alive merges as alive, Left as a leave, Dead and Suspect only as our suspicion")
    func merge() throws {
        var fixture = try MembershipFixture(peers: 3)
        let remote = PushPull(
            join: false,
            nodes: [
                Self.state("p1", .dead), Self.state("p2", .suspect), Self.state("p3", .left),
                Self.state("p4", .alive),
            ],
            userState: [9, 9]
        )
        let inbound = fixture.instance.onStreamPushPull(
            remote,
            userState: [7],
            now: fixture.clock.now,
            using: &fixture.rng
        )
        #expect(inbound.merged)
        #expect(fixture.state("p1") == .suspect)
        #expect(fixture.state("p2") == .suspect)
        #expect(fixture.instance.suspicion(of: "p1")?.accusers == ["self"])
        #expect(fixture.state("p3") == .left)
        #expect(fixture.state("p4") == .alive)
        #expect(inbound.reply.join == false)
        #expect(inbound.reply.userState == [7])
        #expect(inbound.reply.nodes.count == 4)
        #expect(inbound.directives.contains(.mergeUserState([9, 9], join: false)))
    }

    @Test("a remote Dead or Suspect about ourselves is refuted")
    func mergeRefutes() throws {
        var fixture = try MembershipFixture(peers: 1)
        let remote = PushPull(join: false, nodes: [Self.state("self", .dead, incarnation: 4)], userState: [])
        _ = fixture.instance.onStreamPushPull(remote, userState: [], now: fixture.clock.now, using: &fixture.rng)
        #expect(fixture.instance.incarnation == 5)
        #expect(fixture.state("self") == .alive)
    }

    @Test("incompatible versions reject the whole merge but still get a reply")
    func versionRejection() throws {
        var fixture = try MembershipFixture(peers: 1)
        var newcomer = Self.state("p5", .alive)
        newcomer.versions.protocolMin = 6
        newcomer.versions.protocolMax = 7
        newcomer.versions.protocolCur = 6
        let remote = PushPull(join: true, nodes: [newcomer], userState: [1])
        #expect(!fixture.instance.verifyProtocol([newcomer]))
        let inbound = fixture.instance.onStreamPushPull(
            remote,
            userState: [],
            now: fixture.clock.now,
            using: &fixture.rng
        )
        #expect(!inbound.merged)
        #expect(inbound.reply.join)
        #expect(fixture.instance.member(named: "p5") == nil)
        #expect(fixture.instance.counters.rejectedPushPulls == 1)
        #expect(!inbound.directives.contains { if case .mergeUserState = $0 { true } else { false } })
        var delegate = Self.state("p6", .alive)
        delegate.versions.delegateCur = 1
        #expect(!fixture.instance.verifyProtocol([delegate]))
        #expect(fixture.instance.verifyProtocol([Self.state("p7", .alive)]))
    }

    @Test("join sends Join=true push/pulls; it succeeds when one seed answers")
    func join() throws {
        var fixture = try MembershipFixture(peers: 0)
        let seeds = [NodeAddress.ipv4(10, 0, 1, 1, port: 7946), NodeAddress.ipv4(10, 0, 1, 2, port: 7946)]
        let directives = fixture.instance.join(seeds: seeds, now: fixture.clock.now)
        let requests = directives.compactMap { if case .pushPull(let request) = $0 { request } else { nil } }
        #expect(requests.map(\.address) == seeds)
        #expect(requests.allSatisfy { $0.join })
        #expect(requests[0].nodes.map(\.name) == ["self"])
        #expect(fixture.instance.joinResult == nil)
        let failed = fixture.instance.onPushPullFailed(request: requests[0].id, now: fixture.clock.now)
        #expect(!failed.contains { if case .joinCompleted = $0 { true } else { false } })
        let reply = PushPull(join: true, nodes: [Self.state("p1", .alive)], userState: [])
        let done = fixture.instance.onPushPullReply(
            reply,
            request: requests[1].id,
            now: fixture.clock.now,
            using: &fixture.rng
        )
        #expect(done.contains(.joinCompleted(JoinResult(contacted: 1, failed: 1))))
        #expect(fixture.instance.joinResult?.succeeded == true)
        #expect(fixture.state("p1") == .alive)
    }

    @Test("a second join reports only its own seeds, not the tally of the first")
    func secondJoinStartsAfresh() throws {
        var fixture = try MembershipFixture(peers: 0)
        let first = fixture.instance.join(seeds: [.ipv4(10, 0, 1, 1, port: 7946)], now: fixture.clock.now)
        let firstID = try #require(
            first.compactMap { if case .pushPull(let request) = $0 { request.id } else { nil } }.first
        )
        let reply = PushPull(join: true, nodes: [Self.state("p1", .alive)], userState: [])
        let done = fixture.instance.onPushPullReply(
            reply,
            request: firstID,
            now: fixture.clock.now,
            using: &fixture.rng
        )
        #expect(done.contains(.joinCompleted(JoinResult(contacted: 1, failed: 0))))

        let second = fixture.instance.join(seeds: [.ipv4(10, 0, 1, 2, port: 7946)], now: fixture.clock.now)
        let secondID = try #require(
            second.compactMap { if case .pushPull(let request) = $0 { request.id } else { nil } }.first
        )
        let failed = fixture.instance.onPushPullFailed(request: secondID, now: fixture.clock.now)
        #expect(failed.contains(.joinCompleted(JoinResult(contacted: 0, failed: 1))))
    }

    @Test("a join whose seeds never answer fails at the TCP deadline")
    func joinTimeout() throws {
        var fixture = try MembershipFixture(peers: 0)
        _ = fixture.instance.join(seeds: [.ipv4(10, 0, 1, 1, port: 7946)], now: fixture.clock.now)
        let directives = fixture.advance(by: .seconds(10))
        #expect(directives.contains(.joinCompleted(JoinResult(contacted: 0, failed: 1))))
    }

    @Test("push/pull interval scales above 32 nodes")
    func pushPullScale() {
        #expect(MembershipInstance.pushPullScale(.seconds(30), nodeCount: 32) == .seconds(30))
        #expect(MembershipInstance.pushPullScale(.seconds(30), nodeCount: 33) == .seconds(60))
        #expect(MembershipInstance.pushPullScale(.seconds(30), nodeCount: 64) == .seconds(60))
        #expect(MembershipInstance.pushPullScale(.seconds(30), nodeCount: 65) == .seconds(90))
    }

    @Test("settings profiles validate; nonsense is named")
    func settings() {
        #expect(throws: Never.self) { try MembershipSettings.lan.validate() }
        #expect(throws: Never.self) { try MembershipSettings.wan.validate() }
        #expect(throws: Never.self) { try MembershipSettings.local.validate() }
        #expect(MembershipSettings.wan.probeInterval == .seconds(5))
        #expect(MembershipSettings.local.indirectChecks == 1)
        #expect {
            try MembershipSettings(probeTimeout: .seconds(2)).validate()
        } throws: { error in
            (error as? ConfigurationError)?.keyPath == "probe_timeout"
        }
    }
}
