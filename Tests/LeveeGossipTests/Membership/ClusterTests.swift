import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

/// Whole pools on the in-memory network, all with LAN settings and the real packet codec.
struct MembershipClusterTests {
    /// `count` members that all join through `n0`, run until everyone sees everyone alive.
    static func converged(_ count: Int, seed: UInt64, compress: Bool = false) throws -> InMemoryNetwork {
        var network = InMemoryNetwork(seed: seed)
        network.compress = compress
        for index in 0..<count { try network.add("n\(index)") }
        for index in 1..<count { network.join("n\(index)", seeds: ["n0"]) }
        let names = network.names
        let deadline = network.clock.now + .seconds(30)
        let end = network.run(until: deadline) { $0.everyoneSees(names, as: .alive) }
        #expect(end < deadline, "no convergence within 30 s")
        return network
    }

    @Test("a killed member is declared dead everywhere within probe rounds + suspicion timeout")
    func failureDetected() throws {
        var network = try Self.converged(5, seed: 1, compress: true)
        let settings = network.settings
        network.kill("n3")
        let killedAt = network.clock.now
        // Worst case: every prober has n − 2 other targets before n3 in its round-robin, the failing
        // probe takes one (unscaled: nacks arrive) interval, the suspicion waits at most its maximum,
        // and the dead message needs a few gossip rounds to reach everyone.
        let others = network.names.filter { $0 != "n3" }
        let minimum = Suspicion.minimumTimeout(
            suspicionMult: settings.suspicionMult,
            nodeCount: 5,
            probeInterval: settings.probeInterval
        )
        let bound =
            settings.probeInterval * 4 + minimum * settings.suspicionMaxTimeoutMult + settings.gossipInterval * 10
        let end = network.run(until: killedAt + bound) { $0.everyoneSees(["n3"], as: .dead, among: others) }
        #expect(network.everyoneSees(["n3"], as: .dead, among: others), "not detected within \(bound)")
        // With confirmations from the other three members the minimum applies, far below the bound.
        #expect(end - killedAt <= settings.probeInterval * 4 + minimum + settings.gossipInterval * 10)
        #expect(network.decodeFailures == 0)
        let failed = network.events(about: "n3") { if case .failed = $0 { true } else { false } }
        #expect(Set(failed.map(\.observer)) == Set(others))
    }

    @Test("a member cut off for less than the suspicion timeout refutes and is never declared dead")
    func slowMemberRefutes() throws {
        var network = try Self.converged(5, seed: 2)
        let start = network.clock.now
        let slow = network.address(of: "n2")
        network.isolatedUntil[slow] = start + .milliseconds(2500)
        network.run(until: start + .seconds(40))
        let deaths = network.events.filter {
            if case .failed = $0.event { true } else { false }
        }
        #expect(deaths.isEmpty, "declared dead: \(deaths.map { "\($0.event.member.name) by \($0.observer)" })")
        #expect(network.everyoneSees(network.names, as: .alive))
        let n2 = network.instance("n2")
        #expect(n2.counters.refutations >= 1)
        #expect(n2.incarnation > 1)
        #expect(network.instance("n0").counters.suspicions + network.instance("n1").counters.suspicions >= 1)
    }

    @Test("50 members converge after joining through one seed")
    func fiftyConverge() throws {
        var network = InMemoryNetwork(seed: 3)
        for index in 0..<50 { try network.add("n\(index)") }
        let start = network.clock.now
        for index in 1..<50 { network.join("n\(index)", seeds: ["n0"]) }
        let names = network.names
        let end = network.run(until: start + .seconds(20)) { $0.everyoneSees(names, as: .alive) }
        #expect(network.everyoneSees(names, as: .alive))
        // Each join is one push/pull with the seed; the alive messages then spread by gossip in
        // O(log n) rounds of 200 ms. 10 s leaves a wide margin over memberlist's ~2 s at 100 nodes.
        #expect(end - start <= .seconds(10), "converged after \(end - start)")
        #expect(network.joinResults.count == 49)
        #expect(network.joinResults.values.allSatisfy { $0.succeeded })
        #expect(network.decodeFailures == 0)
    }

    @Test("a graceful leave shows Left everywhere, never failed")
    func gracefulLeave() throws {
        var network = try Self.converged(5, seed: 4)
        network.leave("n4")
        let others = network.names.filter { $0 != "n4" }
        network.run(until: network.clock.now + .seconds(10)) { $0.everyoneSees(["n4"], as: .left, among: others) }
        #expect(network.everyoneSees(["n4"], as: .left, among: others))
        #expect(network.events(about: "n4") { if case .failed = $0 { true } else { false } }.isEmpty)
        #expect(
            Set(network.events(about: "n4") { if case .left = $0 { true } else { false } }.map(\.observer)).isSuperset(
                of: others
            )
        )
        // Left members are reaped after GossipToTheDeadTime, at a probe wrap-around.
        network.run(until: network.clock.now + .seconds(40))
        #expect(network.leaves["n4"] == true)
        #expect(others.allSatisfy { network.instance($0).member(named: "n4") == nil })
    }

    @Test("a meta update propagates to everyone with an update event")
    func metaPropagates() throws {
        var network = try Self.converged(5, seed: 5)
        let tags: [UInt8] = [0xff, 0x81, 0xa3, 0x73, 0x76, 0x63, 0xa1, 0x61]
        try network.updateMeta("n1", tags)
        network.run(until: network.clock.now + .seconds(5)) { net in
            net.names.allSatisfy { net.instance($0).member(named: "n1")?.meta == tags }
        }
        #expect(network.names.allSatisfy { network.instance($0).member(named: "n1")?.meta == tags })
        #expect(network.instance("n0").member(named: "n1")?.incarnation == 2)
        let updates = network.events(about: "n1") { if case .updated = $0 { true } else { false } }
        #expect(Set(updates.map(\.observer)) == Set(network.names))
    }

    @Test("user broadcasts reach every member when the layer above re-broadcasts them, as Serf does")
    func userBroadcast() throws {
        var network = try Self.converged(8, seed: 6)
        network.broadcast("n5", [0x07, 1, 2, 3])
        network.run(until: network.clock.now + .seconds(5))
        let receivers = network.names.filter { $0 != "n5" }
        #expect(receivers.allSatisfy { network.userMessages[$0]?.contains([0x07, 1, 2, 3]) == true })
    }

    @Test("a gossip round out of turn delivers a broadcast at once, not on the next gossip interval")
    func gossipNow() throws {
        // Four members: the round goes to gossipNodes (3) members, that is every other one.
        var network = try Self.converged(4, seed: 11)
        network.broadcastNow("n2", [0x07, 9, 9])
        // One datagram's latency (1 ms), far less than the 200 ms gossip interval.
        network.run(until: network.clock.now + .milliseconds(2))
        let receivers = network.names.filter { $0 != "n2" }
        #expect(receivers.allSatisfy { network.userMessages[$0]?.contains([0x07, 9, 9]) == true })
    }
}
