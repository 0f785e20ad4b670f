import LeveeGossip
import LeveeGossipNIO
import LeveeTestKit
import NIOCore
import Synchronization
import Testing

/// The transport against real `serf agent` processes (serf 0.9.4, Debian) on 127.0.0.1.
@Suite("GossipTransport ↔ serf agent", .serialized)
struct SerfInteropTests {
    /// Bytes 0x00…0x1f, as in the reference's encrypted captures (§5.1).
    static let serfKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    static let wrongKey = Keyring.encodeKey((0..<32).map { UInt8(0xA0 + $0) })

    /// Acks every UDP ping addressed to `name`, at `SourceAddr:SourcePort` when set, else at the
    /// packet's source (memberlist net.go `handlePing`), so that the agent keeps us alive.
    static func answerPings(as name: String) -> @Sendable (InboundPacket, GossipTransport) async -> Void {
        { packet, transport in
            for case .ping(let ping) in packet.messages where ping.node.isEmpty || ping.node == name {
                var destination = packet.source
                if !ping.sourceAddr.isEmpty, ping.sourcePort != 0,
                    let source = try? SocketAddress(gossipAddress: ping.sourceAddr, port: ping.sourcePort)
                {
                    destination = source
                }
                try? await transport.send([.ack(Ack(seqNo: ping.seqNo))], to: destination)
            }
        }
    }

    /// Answers the agent's TCP fallback pings.
    static let answerStreamPings: GossipTransport.StreamResponder = { message, _ in
        if case .ping(let ping) = message { return .ack(Ack(seqNo: ping.seqNo)) }
        return nil
    }

    static func probe(_ agent: SerfAgent, from transport: GossipTransport, seqNo: UInt32) async throws {
        let local = try await transport.localAddress()
        let ping = Ping(
            seqNo: seqNo,
            node: agent.name,
            sourceAddr: local.gossipAddressBytes,
            sourcePort: local.gossipPort,
            sourceNode: "levee-probe"
        )
        try await transport.send([.ping(ping)], to: try agent.socketAddress())
    }

    static func ack(_ seqNo: UInt32, in log: PacketLog, within timeout: Duration = .seconds(5)) async throws -> Ack? {
        let packet = try await log.first(within: timeout) { packet in
            packet.messages.contains { if case .ack(let ack) = $0 { ack.seqNo == seqNo } else { false } }
        }
        return packet?.messages.lazy.compactMap { if case .ack(let ack) = $0, ack.seqNo == seqNo { ack } else { nil } }
            .first
    }

    /// Joins `agent` with a `Join=true` push/pull carrying our alive state and Serf user state, and
    /// checks the agent's reply lists the agent itself.
    static func join(
        _ agent: SerfAgent,
        as name: String,
        tags: [String: String],
        from transport: GossipTransport
    )
        async throws
    {
        let local = try await transport.localAddress()
        let me = PushNodeState(
            name: name,
            addr: local.gossipAddressBytes,
            port: local.gossipPort,
            meta: try Tags.encode(tags),
            incarnation: 1,
            state: .alive,
            versions: .serfAgent
        )
        #expect(me.versions.bytes == [1, 5, 2, 2, 5, 5])
        let serfState = SerfPushPull(
            lTime: LamportTime(1),
            statusLTimes: [name: LamportTime(1)],
            leftMembers: [],
            eventLTime: LamportTime(1),
            events: [],
            queryLTime: LamportTime(1)
        )
        let reply = try await transport.exchange(
            .pushPull(PushPull(join: true, nodes: [me], userState: [2] + serfState.msgpackEncoded())),
            with: try agent.socketAddress(),
            timeout: .seconds(5)
        )
        guard case .pushPull(let remote) = reply else {
            Issue.record("expected a push/pull reply, got \(reply)")
            return
        }
        #expect(remote.join)
        let serfNode = try #require(remote.nodes.first { $0.name == agent.name })
        #expect(serfNode.state == .alive)
        #expect(serfNode.port == UInt16(agent.bindPort))
        #expect(remote.userState.first == 2)
    }

    @Test("a UDP ping for the agent's name is acked with the same SeqNo and a coordinate payload")
    func udpPing() async throws {
        try await withSerfAgent(name: "serf-ping") { agent in
            try await withRunningTransport(.loopback()) { transport, log in
                try await Self.probe(agent, from: transport, seqNo: 4242)
                let ack = try #require(try await Self.ack(4242, in: log))
                // serf's ping delegate: [0x01 ping version][msgpack Coordinate].
                #expect(ack.payload?.first == 1)
                #expect((ack.payload?.count ?? 0) > 100)
                #expect(transport.counters.packetDecodeFailures == 0)
            }
        }
    }

    @Test("a Join push/pull makes the agent list our node alive with our tags")
    func pushPullJoin() async throws {
        try await withSerfAgent(name: "serf-join") { agent in
            let name = "levee-join"
            try await withRunningTransport(
                .loopback(),
                streamResponder: Self.answerStreamPings,
                onPacket: Self.answerPings(as: name)
            ) { transport, log in
                try await Self.join(agent, as: name, tags: ["role": "levee", "svc": "orders"], from: transport)
                let member = try await agent.waitForMember(name) { $0.status == "alive" }
                #expect(member.tags == ["role": "levee", "svc": "orders"])
                let local = try await transport.localAddress()
                #expect(member.address == "127.0.0.1:\(local.port ?? 0)")
                // The agent now probes us (every 1 s, memberlist ProbeInterval); our acks keep us alive.
                let probe = try await log.first(within: .seconds(5)) { packet in
                    packet.messages.contains { if case .ping(let ping) = $0 { ping.node == name } else { false } }
                }
                #expect(probe != nil, "the agent never probed us")
                #expect(try await eventually { transport.counters.packetsSent >= 1 })
                #expect(try await agent.members().first { $0.name == name }?.status == "alive")
            }
        }
    }

    @Test("with -encrypt: ping/ack and a Join push/pull work with the same key; a wrong key is refused and counted")
    func encrypted() async throws {
        let keyring = try Keyring(serfEncryptKey: Self.serfKey)
        let wrongKeyring = try Keyring(serfEncryptKey: Self.wrongKey)
        try await withSerfAgent(name: "serf-enc", encryptKey: Self.serfKey) { agent in
            let name = "levee-enc"
            try await withRunningTransport(
                .loopback(keyring: keyring),
                streamResponder: Self.answerStreamPings,
                onPacket: Self.answerPings(as: name)
            ) { transport, log in
                try await Self.probe(agent, from: transport, seqNo: 7)
                let ack = try #require(try await Self.ack(7, in: log))
                #expect(ack.payload?.first == 1)
                try await Self.join(agent, as: name, tags: ["role": "levee"], from: transport)
                let member = try await agent.waitForMember(name) { $0.status == "alive" }
                #expect(member.tags == ["role": "levee"])

                try await withRunningTransport(.loopback(keyring: wrongKeyring)) { stranger, strangerLog in
                    // The agent cannot open our wrong-key ping: no ack comes back.
                    try await Self.probe(agent, from: stranger, seqNo: 99)
                    // Its ack to a ping we send on the stranger's behalf is sealed with the real
                    // key: the stranger drops and counts it.
                    let strangerAddress = try await stranger.localAddress()
                    let relayed = Ping(
                        seqNo: 100,
                        node: agent.name,
                        sourceAddr: strangerAddress.gossipAddressBytes,
                        sourcePort: strangerAddress.gossipPort,
                        sourceNode: "levee-stranger"
                    )
                    try await transport.send([.ping(relayed)], to: try agent.socketAddress())
                    #expect(
                        try await eventually {
                            stranger.counters.packetDrops[.malformed(.decryptionFailed), default: 0] >= 1
                        }
                    )
                    #expect(try await Self.ack(99, in: strangerLog, within: .milliseconds(500)) == nil)
                    // A wrong-key push/pull: the agent's `err` answer does not open either.
                    await #expect(throws: (any Error).self) {
                        _ = try await stranger.exchange(
                            .pushPull(PushPull(join: true, nodes: [], userState: [])),
                            with: try agent.socketAddress(),
                            timeout: .seconds(3)
                        )
                    }
                    #expect(stranger.counters.streamFailureCount == 1)
                    #expect(strangerLog.all.isEmpty)
                }
            }
        }
    }
    @Test("`serf join` to our port: the agent's inbound push/pull is framed and answered", arguments: [false, true])
    func agentJoinsUs(encrypted: Bool) async throws {
        let name = "levee-joined"
        try await withSerfAgent(name: "serf-joiner", encryptKey: encrypted ? Self.serfKey : nil) { agent in
            let keyring = encrypted ? try Keyring(serfEncryptKey: Self.serfKey) : nil
            let requests = PushPullLog()
            let configuration = try GossipTransportConfiguration.loopback(keyring: keyring)
            let address = Mutex<SocketAddress?>(nil)
            let responder: GossipTransport.StreamResponder = { message, _ in
                switch message {
                case .pushPull(let remote):
                    requests.append(remote)
                    guard let local = address.withLock({ $0 }) else { return nil }
                    let me = PushNodeState(
                        name: name,
                        addr: local.gossipAddressBytes,
                        port: local.gossipPort,
                        meta: (try? Tags.encode(["role": "joined"])) ?? [],
                        incarnation: 1,
                        state: .alive
                    )
                    let serfState = SerfPushPull(
                        lTime: LamportTime(1),
                        statusLTimes: [name: LamportTime(1)],
                        leftMembers: [],
                        eventLTime: LamportTime(1),
                        events: [],
                        queryLTime: LamportTime(1)
                    )
                    // memberlist net.go handleConn: the reply carries the same Join flag.
                    return .pushPull(
                        PushPull(join: remote.join, nodes: [me], userState: [2] + serfState.msgpackEncoded())
                    )
                case .ping(let ping):
                    return .ack(Ack(seqNo: ping.seqNo))
                default:
                    return nil
                }
            }
            try await withRunningTransport(
                configuration,
                streamResponder: responder,
                onPacket: Self.answerPings(as: name)
            ) { transport, _ in
                let local = try await transport.localAddress()
                address.withLock { $0 = local }
                try await agent.cli(["join", "127.0.0.1:\(local.port ?? 0)"])
                let request = try #require(requests.all.first)
                #expect(request.join)
                #expect(request.nodes.contains { $0.name == agent.name })
                #expect(request.userState.first == 2)
                let member = try await agent.waitForMember(name) { $0.status == "alive" }
                #expect(member.tags == ["role": "joined"])
                #expect(transport.counters.streamFailureCount == 0)
            }
        }
    }
}

/// The push/pull requests an inbound responder saw.
final class PushPullLog: Sendable {
    private let entries = Mutex<[PushPull]>([])
    func append(_ entry: PushPull) { entries.withLock { $0.append(entry) } }
    var all: [PushPull] { entries.withLock { $0 } }
}
