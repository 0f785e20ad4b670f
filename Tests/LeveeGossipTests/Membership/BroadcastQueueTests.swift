import LeveeGossip
import LeveeTestKit
import Testing

/// memberlist queue.go `TransmitLimitedQueue` (wire reference §3.6).
struct MembershipBroadcastQueueTests {
    @Test(
        "retransmit limit = mult × ceil(log10(n + 1))",
        arguments: [(1, 4), (9, 4), (10, 8), (99, 8), (100, 12), (999, 12)]
    )
    func retransmitLimit(nodes: Int, limit: Int) {
        #expect(BroadcastQueue<Int>.retransmitLimit(retransmitMult: 4, nodeCount: nodes) == limit)
    }

    @Test("fewest transmits first, then the largest that fits, then the newest")
    func order() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("small-old", size: 10)
        queue.enqueue("big", size: 100)
        queue.enqueue("small-new", size: 10)
        #expect(queue.take(overhead: 2, limit: 1000, transmitLimit: 10) == ["big", "small-new", "small-old"])
        queue.enqueue("fresh", size: 5)
        // "fresh" has no transmits yet; the rest one each.
        #expect(queue.take(overhead: 2, limit: 1000, transmitLimit: 10).first == "fresh")
    }

    @Test("only what fits the budget, overhead included")
    func budget() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("a", size: 50)
        queue.enqueue("b", size: 50)
        queue.enqueue("c", size: 30)
        // 100 − 2 = 98 free: a (52 used), then 46 free → c (30); b no longer fits.
        let taken = queue.take(overhead: 2, limit: 100, transmitLimit: 10)
        #expect(taken.count == 2)
        #expect(taken.contains("c"))
    }

    @Test("a message is retired after its transmit limit")
    func retire() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("x", size: 10)
        for _ in 0..<4 { #expect(queue.take(overhead: 2, limit: 100, transmitLimit: 4) == ["x"]) }
        #expect(queue.isEmpty)
        #expect(queue.take(overhead: 2, limit: 100, transmitLimit: 4).isEmpty)
    }

    @Test("a named broadcast replaces the queued one of the same name; unnamed ones never do")
    func replacement() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("alive p1", size: 10, name: "p1")
        queue.enqueue("suspect p1", size: 10, name: "p1")
        queue.enqueue("user 1", size: 10)
        queue.enqueue("user 1", size: 10)
        #expect(queue.count == 3)
        #expect(queue.contains(name: "p1"))
        #expect(queue.payloads.filter { $0.hasSuffix("p1") } == ["suspect p1"])
    }

    @Test("memberlist broadcasts go first; user broadcasts fill the rest of the 1400 bytes as [8]payload")
    func userBroadcastsFillTheRest() throws {
        // No probe in the way: only gossip runs. Drain the alive broadcasts of the setup.
        var fixture = try MembershipFixture(peers: 3, settings: MembershipSettings(probeInterval: .seconds(3600)))
        fixture.advance(by: .seconds(1))
        #expect(fixture.instance.queuedBroadcasts.memberlist == 0)
        fixture.instance.queueUserBroadcast([UInt8](repeating: 1, count: 700))
        fixture.instance.queueUserBroadcast([UInt8](repeating: 2, count: 700))
        fixture.receive(.suspect(Suspect(incarnation: 1, node: "p1", from: "p2")))
        let packets = MembershipFixture.packets(fixture.advance(by: .milliseconds(200)))
        let first = try #require(packets.first)
        guard case .suspect = first.messages.first else {
            Issue.record("memberlist's own broadcast must come first: \(first.messages)")
            return
        }
        // 1400 − 2 header − (suspect + 2) leaves room for one 700-byte user message (+2 +1), not two.
        #expect(first.messages.filter { if case .user = $0 { true } else { false } }.count == 1)
        let size = first.messages.reduce(2) { $0 + 2 + $1.encoded().count }
        #expect(size <= 1400)
    }
}
