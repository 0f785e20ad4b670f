import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct MembershipLeaveTests {
    /// After `leaveCompleted` the instance ignores gossip but still acks pings, as memberlist does
    /// until Shutdown: peers that have not yet heard our `dead` must not suspect us meanwhile.
    @Test func aMemberThatLeftStillAcksPingsAndIgnoresTheRest() throws {
        var fixture = try MembershipFixture(peers: 0)
        let completed = fixture.instance.leave(now: fixture.clock.now)
        #expect(completed.contains(.leaveCompleted(broadcastSent: false)))
        #expect(fixture.instance.hasLeft)

        let answered = fixture.receive(.ping(Ping(seqNo: 42, node: "self")))
        #expect(
            MembershipFixture.messages(answered).contains { message in
                if case .ack(let ack) = message { ack.seqNo == 42 } else { false }
            }
        )

        let ignored = fixture.receive(.alive(MembershipFixture.alive("p9", incarnation: 3)))
        #expect(ignored.isEmpty)
        #expect(fixture.instance.member(named: "p9") == nil)
        #expect(fixture.instance.counters.ignoredAfterLeave == 1)
    }
}
