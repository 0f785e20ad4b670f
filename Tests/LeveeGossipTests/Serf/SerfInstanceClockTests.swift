import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

struct SerfInstanceClockTests {
    @Test("Lamport witness: a time at or past the clock moves it to time + 1; an older one does not")
    func witness() {
        var clock = LamportClock()
        clock.witness(LamportTime(0))
        #expect(clock.time == LamportTime(1))
        clock.witness(LamportTime(1))
        #expect(clock.time == LamportTime(2))
        clock.witness(LamportTime(10))
        #expect(clock.time == LamportTime(11))
        clock.witness(LamportTime(4))
        #expect(clock.time == LamportTime(11))
    }

    @Test("join intent: stamped memberClock.time, which the local witness then moves on")
    func joinUsesTime() throws {
        var serf = try SerfFixture.instance()
        let directives = serf.join(now: SerfFixture.start)
        #expect(
            SerfFixture.broadcasts(directives) == [
                SerfMessage.join(JoinIntent(lTime: LamportTime(1), node: "levee-1")).encoded()
            ]
        )
        #expect(serf.memberClock.time == LamportTime(2))
        #expect(serf.statusLTime(of: "levee-1") == LamportTime(1))
    }

    @Test("leave intent: stamped memberClock.time, then the clock increments")
    func leaveUsesTimeThenIncrements() throws {
        var serf = try SerfFixture.instance()
        _ = serf.onMemberJoined(try SerfFixture.node("peer", last: 2), now: SerfFixture.start)
        let directives = serf.leave(now: SerfFixture.start)
        #expect(
            SerfFixture.broadcasts(directives) == [
                SerfMessage.leave(LeaveIntent(lTime: LamportTime(1), node: "levee-1")).encoded()
            ]
        )
        #expect(serf.memberClock.time == LamportTime(2))
        #expect(serf.state == .leaving)
        #expect(serf.member(named: "levee-1")?.status == .leaving)
        #expect(serf.leave(now: SerfFixture.start).isEmpty)
    }

    @Test("a leave with no other alive member is applied locally but not broadcast")
    func leaveAlone() throws {
        var serf = try SerfFixture.instance()
        #expect(SerfFixture.broadcasts(serf.leave(now: SerfFixture.start)).isEmpty)
    }

    @Test("user event: stamped eventClock.time, then the clock increments")
    func userEventUsesTimeThenIncrements() throws {
        var serf = try SerfFixture.instance()
        let directives = try serf.sendUserEvent(name: "deploy", payload: [1], now: SerfFixture.start)
        let event = UserEvent(lTime: LamportTime(1), name: "deploy", payload: [1], canCoalesce: false)
        #expect(SerfFixture.broadcasts(directives) == [SerfMessage.userEvent(event).encoded()])
        #expect(SerfFixture.events(directives) == [event])
        #expect(serf.eventClock.time == LamportTime(2))
    }

    @Test("query: stamped queryClock.time; local processing witnesses it")
    func queryUsesTime() throws {
        var serf = try SerfFixture.instance()
        var rng = SeededRandom(seed: 7)
        let (ticket, directives) = try serf.query(name: "q", payload: nil, now: SerfFixture.start, using: &rng)
        #expect(ticket.lTime == LamportTime(1))
        #expect(serf.queryClock.time == LamportTime(2))
        let broadcast = try #require(SerfFixture.broadcasts(directives).first)
        guard case .query(let query) = try SerfMessage(broadcast) else {
            Issue.record("expected a query")
            return
        }
        #expect(query.lTime == LamportTime(1))
        #expect(query.id <= UInt32(Int32.max))
        #expect(query.addr == [127, 0, 0, 1] && query.port == 7946)
        #expect(query.timeout == .milliseconds(3200))
    }

    @Test("received intents, events and queries witness their clocks")
    func receivedTimesAreWitnessed() throws {
        var serf = try SerfFixture.instance()
        let now = SerfFixture.start
        _ = serf.onUserMessage(SerfMessage.join(JoinIntent(lTime: LamportTime(40), node: "x")).encoded(), now: now)
        _ = serf.onUserMessage(
            SerfMessage.userEvent(UserEvent(lTime: LamportTime(50), name: "e", payload: nil)).encoded(),
            now: now
        )
        _ = serf.onUserMessage(SerfMessage.query(SerfFixture.query(lTime: 60)).encoded(), now: now)
        #expect(serf.memberClock.time == LamportTime(41))
        #expect(serf.eventClock.time == LamportTime(51))
        #expect(serf.queryClock.time == LamportTime(61))
    }
}
