import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

struct SerfInstancePushPullTests {
    @Test("local state is [2][pushPull] with the clocks, status LTimes, left members and the 512-slot ring")
    func localState() throws {
        var serf = try SerfFixture.instance()
        let now = SerfFixture.start
        let peer = try SerfFixture.node("peer", last: 2)
        _ = serf.onMemberJoined(peer, now: now)
        _ = serf.onUserMessage(SerfMessage.leave(LeaveIntent(lTime: LamportTime(4), node: "peer")).encoded(), now: now)
        _ = serf.onMemberLeft(peer, now: now)
        _ = try serf.sendUserEvent(name: "e", payload: [9], now: now)
        let bytes = serf.localState(join: false)
        #expect(bytes.first == 2)
        guard case .pushPull(let state) = try SerfMessage(bytes) else {
            Issue.record("expected a push/pull state")
            return
        }
        #expect(state.lTime == LamportTime(5))
        #expect(state.statusLTimes == ["levee-1": LamportTime(0), "peer": LamportTime(4)])
        #expect(state.leftMembers == ["peer"])
        #expect(state.eventLTime == LamportTime(2))
        #expect(state.events.count == 512)
        #expect(state.events.compactMap { $0 }.count == 1)
        #expect(state.events[1] == UserEventCollection(lTime: LamportTime(1), events: [.init(name: "e", payload: [9])]))
        // Go writes the nil slots as c0 inside an array16: dc 02 00.
        #expect(bytes.windowed(by: [0xdc, 0x02, 0x00]))
    }

    @Test(
        "merge: clocks witness remote − 1, left members become leave intents, status LTimes join intents, events replay"
    )
    func merge() throws {
        var serf = try SerfFixture.instance { $0.ignoreEventsBeforeJoin = false }
        let now = SerfFixture.start
        _ = serf.onMemberJoined(try SerfFixture.node("alive", last: 2), now: now)
        _ = serf.onMemberJoined(try SerfFixture.node("gone", last: 3), now: now)
        var ring = [UserEventCollection?](repeating: nil, count: 512)
        ring[20] = UserEventCollection(lTime: LamportTime(20), events: [.init(name: "replayed", payload: nil)])
        let remote = SerfPushPull(
            lTime: LamportTime(30),
            statusLTimes: ["alive": LamportTime(12), "gone": LamportTime(8), "stranger": LamportTime(3)],
            leftMembers: ["gone"],
            eventLTime: LamportTime(21),
            events: ring,
            queryLTime: LamportTime(50)
        )
        let directives = serf.mergeRemoteState(SerfMessage.pushPull(remote).encoded(), isJoin: false, now: now)
        #expect(serf.memberClock.time == LamportTime(30))
        #expect(serf.eventClock.time == LamportTime(21))
        #expect(serf.queryClock.time == LamportTime(50))
        #expect(serf.member(named: "gone")?.status == .leaving)
        #expect(serf.statusLTime(of: "gone") == LamportTime(9))
        #expect(serf.statusLTime(of: "alive") == LamportTime(12))
        #expect(SerfFixture.events(directives).map(\.name) == ["replayed"])
        #expect(SerfFixture.broadcasts(directives).isEmpty)
        // "stranger" was buffered: it arrives leaving-free with its status LTime.
        _ = serf.onMemberJoined(try SerfFixture.node("stranger", last: 4), now: now)
        #expect(serf.statusLTime(of: "stranger") == LamportTime(3))
    }

    @Test("a join merge with ignoreEventsBeforeJoin drops events older than the remote event clock")
    func ignoreOldOnJoin() throws {
        var serf = try SerfFixture.instance()
        var ring = [UserEventCollection?](repeating: nil, count: 512)
        ring[3] = UserEventCollection(lTime: LamportTime(3), events: [.init(name: "old", payload: nil)])
        let remote = SerfPushPull(
            lTime: LamportTime(1),
            statusLTimes: [:],
            leftMembers: [],
            eventLTime: LamportTime(4),
            events: ring,
            queryLTime: LamportTime(1)
        )
        let directives = serf.mergeRemoteState(
            SerfMessage.pushPull(remote).encoded(),
            isJoin: true,
            now: SerfFixture.start
        )
        #expect(SerfFixture.events(directives).isEmpty)
        #expect(serf.counters.staleEvents == 1)
    }

    @Test("a remote state listing us as left is refuted with a join intent")
    func refuteLeftInPushPull() throws {
        var serf = try SerfFixture.instance()
        let remote = SerfPushPull(
            lTime: LamportTime(10),
            statusLTimes: ["levee-1": LamportTime(6)],
            leftMembers: ["levee-1"],
            eventLTime: LamportTime(1),
            events: [],
            queryLTime: LamportTime(1)
        )
        let directives = serf.mergeRemoteState(
            SerfMessage.pushPull(remote).encoded(),
            isJoin: false,
            now: SerfFixture.start
        )
        #expect(SerfFixture.broadcasts(directives).count == 1)
        #expect(serf.member(named: "levee-1")?.status == .alive)
    }

    @Test("round trip: one instance's local state merged into another carries its members and events")
    func roundTrip() throws {
        var a = try SerfFixture.instance("a", last: 1)
        var b = try SerfFixture.instance("b", last: 2) { $0.ignoreEventsBeforeJoin = false }
        let now = SerfFixture.start
        _ = a.join(now: now)
        _ = try a.sendUserEvent(name: "hello", payload: [1, 2], now: now)
        let directives = b.mergeRemoteState(a.localState(join: true), isJoin: true, now: now)
        #expect(SerfFixture.events(directives).map(\.name) == ["hello"])
        #expect(b.eventClock.time == LamportTime(2))
        _ = b.onMemberJoined(SerfNode(name: "a", address: SerfFixture.address(1), meta: a.nodeMeta), now: now)
        #expect(b.statusLTime(of: "a") == LamportTime(1))
    }
}

extension Array where Element == UInt8 {
    fileprivate func windowed(by needle: [UInt8]) -> Bool {
        guard count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
