import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

struct SerfInstanceMembershipTests {
    static func leave(_ lTime: UInt64, _ node: String = "peer") -> [UInt8] {
        SerfMessage.leave(LeaveIntent(lTime: LamportTime(lTime), node: node)).encoded()
    }

    static func join(_ lTime: UInt64, _ node: String = "peer") -> [UInt8] {
        SerfMessage.join(JoinIntent(lTime: LamportTime(lTime), node: node)).encoded()
    }

    @Test("memberlist join → alive; leave while alive → failed; a leave intent first → leaving → left")
    func statusFromMemberlist() throws {
        var serf = try SerfFixture.instance()
        var clock = ManualClock()
        let peer = try SerfFixture.node("peer", last: 2, tags: ["role": "web"])
        let joined = serf.onMemberJoined(peer, now: clock.now)
        #expect(joined.count == 1)
        #expect(serf.member(named: "peer")?.status == .alive)
        #expect(serf.member(named: "peer")?.tags == ["role": "web"])

        _ = serf.onMemberLeft(peer, now: clock.now)
        #expect(serf.member(named: "peer")?.status == .failed)

        _ = serf.onMemberJoined(peer, now: clock.now)
        let intent = serf.onUserMessage(Self.leave(3), now: clock.now)
        #expect(SerfFixture.broadcasts(intent) == [Self.leave(3)])
        #expect(serf.member(named: "peer")?.status == .leaving)
        clock.advance(by: .seconds(1))
        let left = serf.onMemberLeft(peer, now: clock.now)
        guard case .memberStatusChanged(_, let from, let to) = left.first else {
            Issue.record("expected a status change, got \(left)")
            return
        }
        #expect(from == .leaving && to == .left)
    }

    @Test(
        "an intent applies only when its LTime is newer than the member's status LTime",
        arguments: [
            (first: UInt64(5), second: UInt64(4), applied: false),
            (first: 5, second: 5, applied: false),
            (first: 5, second: 6, applied: true),
        ]
    )
    func intentPrecedence(first: UInt64, second: UInt64, applied: Bool) throws {
        var serf = try SerfFixture.instance()
        let now = SerfFixture.start
        _ = serf.onMemberJoined(try SerfFixture.node("peer", last: 2), now: now)
        _ = serf.onUserMessage(Self.join(first), now: now)
        #expect(serf.statusLTime(of: "peer") == LamportTime(first))
        let directives = serf.onUserMessage(Self.leave(second), now: now)
        #expect(!SerfFixture.broadcasts(directives).isEmpty == applied)
        #expect((serf.member(named: "peer")?.status == .leaving) == applied)
    }

    @Test("a join intent newer than a leave intent brings a leaving member back to alive")
    func joinSupersedesLeave() throws {
        var serf = try SerfFixture.instance()
        let now = SerfFixture.start
        _ = serf.onMemberJoined(try SerfFixture.node("peer", last: 2), now: now)
        _ = serf.onUserMessage(Self.leave(4), now: now)
        #expect(serf.member(named: "peer")?.status == .leaving)
        _ = serf.onUserMessage(Self.join(5), now: now)
        #expect(serf.member(named: "peer")?.status == .alive)
    }

    @Test("an intent about an unknown member is buffered, rebroadcast once, and applied when it joins")
    func unknownMemberIntentIsBuffered() throws {
        var serf = try SerfFixture.instance()
        var clock = ManualClock()
        #expect(SerfFixture.broadcasts(serf.onUserMessage(Self.leave(7), now: clock.now)) == [Self.leave(7)])
        #expect(SerfFixture.broadcasts(serf.onUserMessage(Self.leave(7), now: clock.now)).isEmpty)
        #expect(SerfFixture.broadcasts(serf.onUserMessage(Self.join(6), now: clock.now)).isEmpty)
        clock.advance(by: .seconds(60))
        _ = serf.onMemberJoined(try SerfFixture.node("peer", last: 2), now: clock.now)
        #expect(serf.member(named: "peer")?.status == .leaving)
        #expect(serf.statusLTime(of: "peer") == LamportTime(7))
    }

    @Test("buffered intents expire after the recent-intent timeout (5 min)")
    func bufferedIntentExpires() throws {
        var serf = try SerfFixture.instance()
        var clock = ManualClock()
        var rng = SeededRandom(seed: 1)
        _ = serf.onUserMessage(Self.leave(7), now: clock.now)
        clock.advance(by: .seconds(5 * 60 + 1))
        _ = serf.onTick(now: clock.now, using: &rng)
        _ = serf.onMemberJoined(try SerfFixture.node("peer", last: 2), now: clock.now)
        #expect(serf.member(named: "peer")?.status == .alive)
        #expect(SerfFixture.broadcasts(serf.onUserMessage(Self.leave(7), now: clock.now)) == [Self.leave(7)])
    }

    @Test("a newer leave intent about ourselves while alive is refuted with a new join intent")
    func leaveAboutSelfIsRefuted() throws {
        var serf = try SerfFixture.instance()
        let directives = serf.onUserMessage(Self.leave(9, "levee-1"), now: SerfFixture.start)
        // The leave intent was witnessed (clock 10), so the refutation is stamped 10 and beats it.
        #expect(
            SerfFixture.broadcasts(directives) == [
                SerfMessage.join(JoinIntent(lTime: LamportTime(10), node: "levee-1")).encoded()
            ]
        )
        #expect(serf.member(named: "levee-1")?.status == .alive)
        #expect(serf.statusLTime(of: "levee-1") == LamportTime(10))
        #expect(SerfFixture.broadcasts(serf.onUserMessage(Self.leave(9, "levee-1"), now: SerfFixture.start)).isEmpty)
    }

    @Test("a leave intent about a failed member makes it left (forced leave)")
    func forcedLeave() throws {
        var serf = try SerfFixture.instance()
        let peer = try SerfFixture.node("peer", last: 2)
        _ = serf.onMemberJoined(peer, now: SerfFixture.start)
        _ = serf.onMemberLeft(peer, now: SerfFixture.start)
        _ = serf.onUserMessage(Self.leave(3), now: SerfFixture.start)
        #expect(serf.member(named: "peer")?.status == .left)
    }

    @Test("failed members are reaped after reconnectTimeout, left ones after tombstoneTimeout")
    func reaping() throws {
        var serf = try SerfFixture.instance {
            $0.reconnectTimeout = .seconds(100)
            $0.tombstoneTimeout = .seconds(200)
        }
        var clock = ManualClock()
        var rng = SeededRandom(seed: 3)
        let failed = try SerfFixture.node("failed", last: 2)
        let left = try SerfFixture.node("left", last: 3)
        _ = serf.onMemberJoined(failed, now: clock.now)
        _ = serf.onMemberJoined(left, now: clock.now)
        _ = serf.onUserMessage(Self.leave(2, "left"), now: clock.now)
        _ = serf.onMemberLeft(failed, now: clock.now)
        _ = serf.onMemberLeft(left, now: clock.now)
        clock.advance(by: .seconds(101))
        let first = serf.onTick(now: clock.now, using: &rng)
        #expect(first.contains { if case .memberReaped(let m) = $0 { m.name == "failed" } else { false } })
        #expect(serf.member(named: "failed") == nil && serf.member(named: "left") != nil)
        clock.advance(by: .seconds(100))
        _ = serf.onTick(now: clock.now, using: &rng)
        #expect(serf.member(named: "left") == nil)
    }

    @Test("every reconnect interval a failed member is offered for a memberlist join")
    func reconnect() throws {
        var serf = try SerfFixture.instance()
        var clock = ManualClock()
        var rng = SeededRandom(seed: 11)
        let failed = try SerfFixture.node("failed", last: 2)
        _ = serf.onMemberJoined(failed, now: clock.now)
        _ = serf.onMemberLeft(failed, now: clock.now)
        #expect(serf.onTick(now: clock.now, using: &rng).isEmpty)
        clock.advance(by: .seconds(30))
        // One failed, one alive (ourselves): probability 1.
        #expect(
            serf.onTick(now: clock.now, using: &rng) == [.joinMember(name: "failed", address: failed.address)]
        )
    }

    @Test("tags: nodeMeta encodes them; oversized tags are refused")
    func tags() throws {
        var serf = try SerfFixture.instance(tags: ["role": "web"])
        #expect(serf.nodeMeta == [0xff, 0x81, 0xa4] + Array("role".utf8) + [0xa3] + Array("web".utf8))
        #expect(throws: SerfError.self) { try serf.setTags(["big": String(repeating: "x", count: 600)]) }
        try serf.setTags([:])
        #expect(serf.nodeMeta == [0xff, 0x80])
    }
}
