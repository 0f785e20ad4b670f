import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

/// The probe loop and the ping/ack/indirect/nack roles (memberlist state.go `probeNode`, net.go
/// `handlePing`, `handleIndirectPing`; wire reference §3.2).
struct MembershipProbeTests {
    static func firstPing(_ directives: [MembershipDirective]) -> (Ping, NodeAddress)? {
        for packet in MembershipFixture.packets(directives) {
            if case .ping(let ping)? = packet.messages.first { return (ping, packet.address) }
        }
        return nil
    }

    @Test("probe → no ack → indirect pings with nack and a TCP fallback → suspect → dead")
    func failurePath() throws {
        var fixture = try MembershipFixture(peers: 4, settings: MembershipSettings(pushPullInterval: .zero))
        var sent: [MembershipDirective] = []
        while Self.firstPing(sent) == nil { sent = fixture.advance(to: fixture.instance.nextDeadline) }
        let (ping, _) = try #require(Self.firstPing(sent))
        let target = ping.node
        let probeStart = fixture.clock.now
        #expect(ping.sourceNode == "self" && ping.sourcePort == 7946)

        let afterTimeout = fixture.advance(to: probeStart + .milliseconds(500))
        let indirect = MembershipFixture.packets(afterTimeout).compactMap { packet -> IndirectPing? in
            if case .indirectPing(let request)? = packet.messages.first { request } else { nil }
        }
        #expect(indirect.count == 3)
        #expect(indirect.allSatisfy { $0.seqNo == ping.seqNo && $0.node == target && $0.nack })
        let fallback = afterTimeout.compactMap { if case .streamPing(let request) = $0 { request } else { nil } }
        #expect(fallback.count == 1)
        #expect(fallback.first?.deadline == probeStart + .seconds(1))

        // Two of three relays answer with a nack: one missing nack costs one point of health.
        fixture.receive(.nack(Nack(seqNo: ping.seqNo)))
        fixture.receive(.nack(Nack(seqNo: ping.seqNo)))
        fixture.receive(.nack(Nack(seqNo: 999)))
        #expect(fixture.instance.counters.staleAcks == 1)
        _ = fixture.instance.onStreamPingResult(sequenceNumber: ping.seqNo, success: false, now: fixture.clock.now)

        fixture.advance(to: probeStart + .milliseconds(999))
        #expect(fixture.state(target) == .alive)
        let atDeadline = fixture.advance(to: probeStart + .seconds(1))
        #expect(fixture.state(target) == .suspect)
        #expect(fixture.instance.healthScore == 1)
        #expect(
            MembershipFixture.messages(atDeadline + fixture.advance(by: .milliseconds(200))).contains {
                if case .suspect(let suspect) = $0 { suspect.node == target && suspect.from == "self" } else { false }
            }
        )
        // 5 nodes: k = 2, no confirmation arrives, so the maximum (6 × 4 s) applies.
        let suspectedAt = probeStart + .seconds(1)
        #expect(fixture.instance.suspicion(of: target)?.deadline == suspectedAt + .seconds(24))
        fixture.advance(to: suspectedAt + .seconds(24))
        #expect(fixture.state(target) == .dead)
    }

    @Test("an ack for the probe completes it and improves health; a stale ack is counted")
    func ackCompletesProbe() throws {
        var fixture = try MembershipFixture(peers: 2, settings: MembershipSettings(pushPullInterval: .zero))
        fixture.receive(.suspect(Suspect(incarnation: 1, node: "self", from: "p1")))
        fixture.receive(.suspect(Suspect(incarnation: 5, node: "self", from: "p1")))
        #expect(fixture.instance.healthScore == 2)
        var sent: [MembershipDirective] = []
        while Self.firstPing(sent) == nil { sent = fixture.advance(to: fixture.instance.nextDeadline) }
        let (ping, _) = try #require(Self.firstPing(sent))
        let directives = fixture.receive(.ack(Ack(seqNo: ping.seqNo, payload: [1, 2])))
        #expect(fixture.instance.healthScore == 1)
        #expect(
            directives.contains {
                if case .probeAcknowledged(let node, _, [1, 2]) = $0 { node == ping.node } else { false }
            }
        )
        fixture.receive(.ack(Ack(seqNo: ping.seqNo)))
        #expect(fixture.instance.counters.staleAcks == 1)
        fixture.advance(by: .seconds(2))
        #expect(fixture.state(ping.node) == .alive || fixture.state(ping.node) == .suspect)
        #expect(fixture.instance.counters.failedProbes <= 1)
    }

    @Test("a ping is acked to SourceAddr:SourcePort; one for another node is ignored")
    func answerPing() throws {
        var fixture = try MembershipFixture(peers: 1)
        let source = NodeAddress.ipv4(10, 0, 9, 9, port: 8000)
        let directives = fixture.receive(
            .ping(Ping(seqNo: 42, node: "self", sourceAddr: source.ip, sourcePort: source.port, sourceNode: "x")),
            from: .ipv4(10, 0, 9, 9, port: 1234)
        )
        let packet = try #require(MembershipFixture.packets(directives).first)
        #expect(packet.address == source)
        #expect(packet.messages.first == .ack(Ack(seqNo: 42)))
        #expect(!packet.checksum)
        let ignored = fixture.receive(.ping(Ping(seqNo: 43, node: "someone-else")))
        #expect(MembershipFixture.packets(ignored).isEmpty)
        #expect(fixture.instance.counters.misdirectedPings == 1)
        // An old sender's ping has no Source*: the ack goes to the datagram's source.
        let sender = NodeAddress.ipv4(10, 0, 9, 8, port: 7000)
        let plain = fixture.receive(.ping(Ping(seqNo: 44, node: "")), from: sender)
        #expect(MembershipFixture.packets(plain).first?.address == sender)
    }

    @Test("as a relay: ping with our own sequence number, forward the ack, or nack on timeout")
    func relay() throws {
        var fixture = try MembershipFixture(peers: 2, settings: MembershipSettings(probeInterval: .seconds(3600)))
        let requester = NodeAddress.ipv4(10, 0, 1, 1, port: 7946)
        let target = NodeAddress.ipv4(10, 0, 1, 2, port: 7946)
        func request(_ seqNo: UInt32) -> Message {
            .indirectPing(
                IndirectPing(
                    seqNo: seqNo,
                    target: target.ip,
                    port: target.port,
                    node: "p2",
                    nack: true,
                    sourceAddr: requester.ip,
                    sourcePort: requester.port,
                    sourceNode: "p1"
                )
            )
        }
        let first = try #require(Self.firstPing(fixture.receive(request(77))))
        #expect(first.1 == target && first.0.node == "p2" && first.0.seqNo != 77)
        let forwarded = fixture.receive(.ack(Ack(seqNo: first.0.seqNo)), from: target)
        #expect(MembershipFixture.packets(forwarded).first?.messages.first == .ack(Ack(seqNo: 77)))
        #expect(MembershipFixture.packets(forwarded).first?.address == requester)

        _ = try #require(Self.firstPing(fixture.receive(request(78))))
        let later = fixture.advance(by: .milliseconds(500))
        let nack = MembershipFixture.packets(later).first { $0.messages.first == .nack(Nack(seqNo: 78)) }
        #expect(nack?.address == requester)
    }

    @Test("a suspect target is probed with [ping, suspect] and a CRC, so it can refute")
    func suspectProbe() throws {
        var fixture = try MembershipFixture(peers: 1, settings: MembershipSettings(pushPullInterval: .zero))
        fixture.receive(.suspect(Suspect(incarnation: 1, node: "p1", from: "p9")))
        var packets: [OutboundPacket] = []
        while packets.isEmpty {
            packets = MembershipFixture.packets(fixture.advance(by: .milliseconds(50))).filter {
                if case .ping? = $0.messages.first { true } else { false }
            }
        }
        #expect(packets[0].checksum)
        #expect(packets[0].messages.count == 2)
        #expect(packets[0].messages[1] == .suspect(Suspect(incarnation: 1, node: "p1", from: "self")))
    }
}
