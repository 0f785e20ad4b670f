import LeveeGossip
import Testing

/// Message bodies round-trip and keep Go's key order.
struct MessageBodyTests {
    static let messages: [Message] = [
        .ping(Ping(seqNo: 7, node: "n")),
        .ping(Golden.pingBetaToAlpha),
        .indirectPing(Golden.indirectPingGamma),
        .indirectPing(
            IndirectPing(
                seqNo: 1,
                target: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                port: 0,
                node: "v6",
                nack: false
            )
        ),
        .ack(Ack(seqNo: 3)),
        .ack(Ack(seqNo: 3, payload: [])),
        .nack(Nack(seqNo: UInt32.max)),
        .suspect(Golden.suspectGamma),
        .alive(Golden.aliveGamma),
        .dead(Dead(incarnation: 9, node: "x", from: "x")),
        .user([3, 0x80]),
        .unsupported(type: 200, body: [1, 2]),
    ]

    @Test("round trip", arguments: messages)
    func roundTrip(_ message: Message) throws {
        let bytes = message.encoded()
        #expect(try Message(type: bytes[0], body: Array(bytes[1...])) == message)
    }

    @Test("struct keys are written sorted byte-wise", arguments: messages)
    func sortedKeys(_ message: Message) throws {
        let bytes = message.encoded()
        guard bytes[0] != MessageType.user.rawValue, bytes[0] < 14 else { return }
        var reader = MsgpackReader(bytes, offset: 1)
        guard case .map(let pairs) = try reader.readValue() else {
            Issue.record("body is not a map")
            return
        }
        let keys = pairs.compactMap { pair -> [UInt8]? in
            if case .raw(let key) = pair.key { return key }
            return nil
        }
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test("an ack with nil payload is c0 (G6 stream vector)")
    func nilPayload() {
        #expect(Message.ack(Ack(seqNo: 13)).encoded() == Golden.g6StreamAckPlain)
    }

    @Test("a Vsn of the wrong length is refused")
    func shortVsn() throws {
        var alive = Golden.aliveGamma.msgpackEncoded()
        // Replace "a6 010502020505" by "a5 0105020205".
        let vsnStart = alive.count - 7
        alive.replaceSubrange(vsnStart..., with: [0xa5, 1, 5, 2, 2, 5])
        #expect {
            _ = try Alive(msgpackBytes: alive)
        } throws: { error in
            (error as? WireError) == WireError(.invalidValue, field: "Alive.Vsn", "Vsn has 5 bytes, expected 6")
        }
    }
}
