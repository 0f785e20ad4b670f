import LeveeGossip
import LeveeGossipNIO
import LeveeTestKit
import NIOCore
import NIOPosix
import Testing

/// Two transports on 127.0.0.1 exchanging real datagrams and streams.
@Suite("GossipTransport on loopback")
struct GossipTransportTests {
    static let key = (0..<32).map { UInt8($0) }
    static let otherKey = (0..<32).map { UInt8(255 - $0) }

    static func alive(_ name: String) -> Message {
        .alive(Alive(incarnation: 1, node: name, addr: [127, 0, 0, 1], port: 7946, meta: [0xff, 0x80]))
    }

    struct DatagramCase: Sendable, CustomTestStringConvertible {
        var label: String
        var messages: [Message]
        var options: PacketEncodeOptions
        var encrypted: Bool
        var testDescription: String { label }
    }

    static let datagramCases: [DatagramCase] = [
        DatagramCase(
            label: "plain ping",
            messages: [.ping(Ping(seqNo: 1, node: "b"))],
            options: PacketEncodeOptions(),
            encrypted: false
        ),
        DatagramCase(
            label: "compressed alive",
            messages: [alive(String(repeating: "node-", count: 20))],
            options: PacketEncodeOptions(compress: true),
            encrypted: false
        ),
        DatagramCase(
            label: "compound with CRC",
            messages: [.ping(Ping(seqNo: 2, node: "b")), alive("c"), .user([3, 0x80])],
            options: PacketEncodeOptions(compress: false, checksum: true),
            encrypted: false
        ),
        DatagramCase(
            label: "encrypted compound, compressed, CRC",
            messages: [.ack(Ack(seqNo: 4, payload: nil)), alive(String(repeating: "x", count: 60))],
            options: PacketEncodeOptions(compress: true, checksum: true),
            encrypted: true
        ),
    ]

    @Test("datagrams arrive decoded, from the member port", arguments: datagramCases)
    func datagrams(_ testCase: DatagramCase) async throws {
        let keyring = testCase.encrypted ? try Keyring(primary: Self.key) : nil
        try await withRunningTransport(.loopback(keyring: keyring)) { sender, _ in
            try await withRunningTransport(.loopback(keyring: keyring)) { receiver, log in
                let to = try await receiver.localAddress()
                try await sender.send(testCase.messages, to: to, options: testCase.options)
                let packet = try #require(try await log.first { _ in true })
                #expect(packet.messages == testCase.messages)
                #expect(packet.source == (try await sender.localAddress()))
                #expect(sender.counters.packetsSent == 1)
                #expect(receiver.counters.packetsReceived == 1)
                #expect(receiver.counters.bytesReceived == sender.counters.bytesSent)
            }
        }
    }

    @Test("a datagram over the 1400-byte budget is refused before sending")
    func oversizedSend() async throws {
        try await withRunningTransport(.loopback()) { transport, _ in
            let to = try await transport.localAddress()
            let big = Message.user([UInt8](repeating: 7, count: 1500))
            await #expect(throws: GossipTransportError.self) {
                try await transport.send([big], to: to, options: PacketEncodeOptions())
            }
            #expect(transport.counters.packetsSent == 0)
        }
    }

    @Test("garbage datagrams are counted by reason and later traffic still arrives")
    func garbageDatagrams() async throws {
        try await withRunningTransport(.loopback()) { sender, _ in
            try await withRunningTransport(.loopback()) { receiver, log in
                let to = try await receiver.localAddress()
                try await sender.sendDatagram([], to: to)
                try await sender.sendDatagram([0x00, 0xc1, 0xff], to: to)
                try await sender.sendDatagram([0x0c, 0, 0, 0, 0, 0x00, 0x80], to: to)
                try await sender.sendDatagram([0x07, 0x02, 0x00, 0x40], to: to)
                try await sender.send([.ping(Ping(seqNo: 9, node: ""))], to: to)
                let packet = try #require(try await log.first { _ in true })
                #expect(packet.messages == [.ping(Ping(seqNo: 9, node: ""))])
                #expect(try await eventually { receiver.counters.packetsReceived == 5 })
                let counters = receiver.counters
                #expect(counters.packetDecodeFailures == 4)
                #expect(counters.packetDrops[.malformed(.checksumMismatch)] == 1)
                #expect(log.all.count == 1)
            }
        }
    }

    @Test("an encrypted transport drops plaintext and wrong-key datagrams and counts them")
    func encryptedDropsStrangers() async throws {
        let keyring = try Keyring(primary: Self.key)
        try await withRunningTransport(.loopback()) { plain, _ in
            try await withRunningTransport(.loopback(keyring: try Keyring(primary: Self.otherKey))) { stranger, _ in
                try await withRunningTransport(.loopback(keyring: keyring)) { friend, _ in
                    try await withRunningTransport(.loopback(keyring: keyring)) { receiver, log in
                        let to = try await receiver.localAddress()
                        try await plain.send([.ping(Ping(seqNo: 1, node: ""))], to: to)
                        try await stranger.send([.ping(Ping(seqNo: 2, node: ""))], to: to)
                        try await friend.send([.ping(Ping(seqNo: 3, node: ""))], to: to)
                        let packet = try #require(try await log.first { _ in true })
                        #expect(packet.messages == [.ping(Ping(seqNo: 3, node: ""))])
                        #expect(try await eventually { receiver.counters.packetDecodeFailures == 2 })
                        #expect(receiver.counters.packetDrops[.malformed(.decryptionFailed)] == 2)
                        #expect(log.all.count == 1)
                    }
                }
            }
        }
    }

    static func answer(_ message: StreamMessage, _ peer: SocketAddress?) async -> StreamMessage? {
        switch message {
        case .pushPull(let remote):
            let node = PushNodeState(
                name: "responder",
                addr: [127, 0, 0, 1],
                port: 1,
                meta: [0xff, 0x80],
                incarnation: 1,
                state: .alive
            )
            return .pushPull(PushPull(join: remote.join, nodes: [node], userState: [2, 0x80]))
        case .ping(let ping):
            return .ack(Ack(seqNo: ping.seqNo))
        default:
            return nil
        }
    }

    @Test("push/pull and TCP ping exchanges", arguments: [false, true])
    func streamExchange(encrypted: Bool) async throws {
        let keyring = encrypted ? try Keyring(primary: Self.key) : nil
        try await withRunningTransport(.loopback(keyring: keyring)) { initiator, _ in
            try await withRunningTransport(.loopback(keyring: keyring), streamResponder: Self.answer) { responder, _ in
                let to = try await responder.localAddress()
                let mine = PushNodeState(
                    name: "initiator",
                    addr: [127, 0, 0, 1],
                    port: 2,
                    meta: try Tags.encode(["role": "levee"]),
                    incarnation: 1,
                    state: .alive
                )
                let reply = try await initiator.exchange(
                    .pushPull(PushPull(join: true, nodes: [mine], userState: [1, 2, 3])),
                    with: to,
                    timeout: .seconds(5)
                )
                guard case .pushPull(let state) = reply else {
                    Issue.record("expected a push/pull reply, got \(reply)")
                    return
                }
                #expect(state.join)
                #expect(state.nodes.map(\.name) == ["responder"])
                #expect(state.userState == [2, 0x80])
                let ack = try await initiator.exchange(.ping(Ping(seqNo: 77, node: "responder")), with: to)
                #expect(ack == .ack(Ack(seqNo: 77)))
                #expect(responder.counters.streamsAccepted == 2)
                #expect(initiator.counters.streamsCompleted == 2)
            }
        }
    }

    /// Writes raw bytes on a fresh TCP connection and returns whatever comes back before EOF.
    static func rawStream(_ bytes: [UInt8], to address: SocketAddress) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            if !bytes.isEmpty { try await outbound.write(ByteBuffer(bytes: bytes)) }
            var received: [UInt8] = []
            for try await buffer in inbound { received += buffer.readableBytesView }
            return received
        }
    }

    @Test("garbage and stalled streams are answered or timed out, counted, and later exchanges work")
    func garbageStreams() async throws {
        var configuration = try GossipTransportConfiguration.loopback()
        configuration.streamTimeout = .milliseconds(300)
        try await withRunningTransport(.loopback()) { initiator, _ in
            try await withRunningTransport(configuration, streamResponder: Self.answer) { responder, _ in
                let to = try await responder.localAddress()
                // A type byte that is not valid on a stream: answered with `err`.
                let answer = try await Self.rawStream([0x63, 0x01, 0x02], to: to)
                let decoded = try StreamFramer.decode(answer)
                guard case .err(let response) = decoded else {
                    Issue.record("expected an err reply, got \(decoded)")
                    return
                }
                #expect(response.error.contains("unsupportedMessageType"))
                // Half a ping, then silence: the responder gives up at its deadline.
                let stalled = try await Self.rawStream([0x00, 0x82, 0xa4], to: to)
                #expect(stalled.isEmpty)
                #expect(try await eventually { responder.counters.streamFailures[.timeout] == 1 })
                #expect(responder.counters.streamFailures[.malformed(.unsupportedMessageType)] == 1)
                let ack = try await initiator.exchange(.ping(Ping(seqNo: 5, node: "")), with: to)
                #expect(ack == .ack(Ack(seqNo: 5)))
            }
        }
    }

    @Test("inbound streams beyond maxConcurrentStreams are closed unread and counted; serving resumes after")
    func concurrentStreamCap() async throws {
        var configuration = try GossipTransportConfiguration.loopback()
        configuration.maxConcurrentStreams = 2
        configuration.streamTimeout = .seconds(2)
        try await withRunningTransport(.loopback()) { initiator, _ in
            try await withRunningTransport(configuration, streamResponder: Self.answer) { responder, _ in
                let to = try await responder.localAddress()
                // Two silent connections hold both slots until the stream timeout.
                async let first = Self.rawStream([], to: to)
                async let second = Self.rawStream([], to: to)
                #expect(try await eventually { responder.counters.streamsInProgress == 2 })
                // The third is closed at once, well before the timeout, without an answer.
                let clock = ContinuousClock()
                let started = clock.now
                let third = try await Self.rawStream([], to: to)
                #expect(third.isEmpty)
                #expect(clock.now - started < .seconds(1))
                #expect(responder.counters.streamFailures[.overloaded] == 1)
                _ = try await (first, second)
                // The slots are free again once the silent ones timed out.
                #expect(try await eventually { responder.counters.streamFailures[.timeout] == 2 })
                #expect(try await eventually { responder.counters.streamsInProgress == 0 })
                let ack = try await initiator.exchange(.ping(Ping(seqNo: 9, node: "")), with: to)
                #expect(ack == .ack(Ack(seqNo: 9)))
            }
        }
    }

    @Test("an encrypted responder refuses a plaintext stream; the initiator cannot read its answer")
    func encryptedRefusesPlaintextStream() async throws {
        try await withRunningTransport(.loopback()) { plain, _ in
            try await withRunningTransport(
                .loopback(keyring: try Keyring(primary: Self.key)),
                streamResponder: Self.answer
            ) { responder, _ in
                let to = try await responder.localAddress()
                await #expect(throws: WireError.self) {
                    _ = try await plain.exchange(.ping(Ping(seqNo: 1, node: "")), with: to)
                }
                #expect(try await eventually { responder.counters.streamFailures[.malformed(.notEncrypted)] == 1 })
                #expect(plain.counters.streamFailureCount == 1)
            }
        }
    }

    @Test("IPv6 loopback: datagrams and a stream exchange on [::1]")
    func ipv6Loopback() async throws {
        let configuration = GossipTransportConfiguration(bindAddress: try SocketAddress(ipAddress: "::1", port: 0))
        try await withRunningTransport(configuration) { sender, _ in
            try await withRunningTransport(configuration, streamResponder: Self.answer) { receiver, log in
                let to = try await receiver.localAddress()
                #expect(to.gossipAddressBytes == [UInt8](repeating: 0, count: 15) + [1])
                try await sender.send([.ping(Ping(seqNo: 6, node: ""))], to: to)
                let packet = try #require(try await log.first { _ in true })
                #expect(packet.source.gossipAddressBytes.count == 16)
                let ack = try await sender.exchange(.ping(Ping(seqNo: 8, node: "")), with: to)
                #expect(ack == .ack(Ack(seqNo: 8)))
            }
        }
    }

    @Test("memberlist address bytes convert to and from socket addresses")
    func addressConversion() throws {
        let v4 = try SocketAddress(gossipAddress: [127, 0, 0, 1], port: 7946)
        #expect(v4.ipAddress == "127.0.0.1")
        #expect(v4.gossipPort == 7946)
        #expect(v4.gossipAddressBytes == [127, 0, 0, 1])
        let v6 = try SocketAddress(gossipAddress: [UInt8](repeating: 0, count: 15) + [1], port: 1)
        #expect(v6.gossipAddressBytes == [UInt8](repeating: 0, count: 15) + [1])
        #expect(throws: (any Error).self) { try SocketAddress(gossipAddress: [1, 2, 3], port: 1) }
    }
}

@Suite("GossipTransport lifecycle")
struct GossipTransportLifecycleTests {
    @Test("cancelling run() closes both sockets, ends inboundPackets and frees the port")
    func cancellation() async throws {
        let transport = GossipTransport(configuration: try .loopback(), streamResponder: { _, _ in nil })
        let address = try await withThrowingTaskGroup(of: Void.self, returning: SocketAddress.self) { group in
            group.addTask { try await transport.run() }
            let address = try await transport.localAddress()
            group.cancelAll()
            try await group.waitForAll()
            return address
        }
        var iterator = transport.inboundPackets.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        await #expect(throws: GossipTransportError.self) { _ = try await transport.localAddress() }
        await #expect(throws: GossipTransportError.self) { try await transport.run() }
        // Both UDP and TCP on that port can be bound again.
        var again = try GossipTransportConfiguration.loopback()
        again.bindAddress = address
        try await withRunningTransport(again) { rebound, _ in
            let port = try await rebound.localAddress().port
            #expect(port == address.port)
        }
    }

    @Test("a fixed port taken by another transport fails to bind with an error, not a hang")
    func portTaken() async throws {
        try await withRunningTransport(.loopback()) { first, _ in
            var clash = try GossipTransportConfiguration.loopback()
            clash.bindAddress = try await first.localAddress()
            let second = GossipTransport(configuration: clash, streamResponder: { _, _ in nil })
            await #expect(throws: (any Error).self) { try await second.run() }
            await #expect(throws: GossipTransportError.self) { _ = try await second.localAddress() }
        }
    }
}
