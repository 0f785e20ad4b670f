import LeveeGossip
import Testing

/// Every plaintext UDP capture of §5.2, decoded to the expected messages and re-encoded byte for byte.
struct PacketGoldenTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let messages: [Message]
        let options: PacketEncodeOptions
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "G1 ping", bytes: Golden.g1Ping, messages: [.ping(Golden.pingBetaToAlpha)], options: .init()),
        Vector(
            name: "G2 ack",
            bytes: Golden.g2Ack,
            messages: [.ack(Ack(seqNo: 1, payload: Array(Golden.g2Ack[13..<143])))],
            options: .init()
        ),
        Vector(
            name: "G3 alive+CRC",
            bytes: Golden.g3AliveWithCRC,
            messages: [.alive(Golden.aliveGamma)],
            options: .init(checksum: true)
        ),
        Vector(
            name: "G4 user event+CRC",
            bytes: Golden.g4UserEventWithCRC,
            messages: [.user(Array(Golden.g4UserEventWithCRC[6...]))],
            options: .init(checksum: true)
        ),
        Vector(
            name: "G5 indirect ping",
            bytes: Golden.g5IndirectPing,
            messages: [.indirectPing(Golden.indirectPingGamma)],
            options: .init()
        ),
        Vector(name: "G5 nack", bytes: Golden.g5Nack, messages: [.nack(Nack(seqNo: 13))], options: .init()),
        Vector(
            name: "G5 suspect probe",
            bytes: Golden.g5SuspectProbe,
            messages: [.ping(Golden.pingGammaFromAlpha), .suspect(Golden.suspectGamma)],
            options: .init(checksum: true)
        ),
        Vector(
            name: "G5 dead+CRC",
            bytes: Golden.g5DeadWithCRC,
            messages: [.dead(Golden.deadGamma)],
            options: .init(checksum: true)
        ),
        Vector(
            name: "G6 compressed ack",
            bytes: Golden.g6CompressedAck,
            messages: [.ack(Ack(seqNo: 1, payload: Array(GoldenCoordinate.zeroPayload)))],
            options: .init(compress: true)
        ),
    ]

    @Test("decodes the capture", arguments: vectors)
    func decodes(_ vector: Vector) throws {
        #expect(try PacketCodec().decodePacket(vector.bytes) == vector.messages)
    }

    @Test("encodes to the capture byte for byte", arguments: vectors)
    func encodes(_ vector: Vector) throws {
        let bytes = try PacketCodec().encodePacket(vector.messages, options: vector.options, nonce: [])
        #expect(bytes.hexString == vector.bytes.hexString)
    }

    @Test("G2's payload is a version-1 Serf coordinate")
    func coordinatePayload() throws {
        let payload = Array(Golden.g2Ack[13..<143])
        #expect(payload.count == 130)
        #expect(payload.first == 1)
        var reader = MsgpackReader(payload, offset: 1)
        let fields = try MsgpackFields(try reader.readValue(), typeName: "Coordinate")
        #expect(try fields.float64("Error") > 1.4)
        guard case .array(let vec) = fields["Vec"] else {
            Issue.record("Vec is not an array")
            return
        }
        #expect(vec.count == 8)
        #expect(reader.offset == payload.count)
    }

    @Test("G7: the encrypted ping decrypts and decodes with the keyring")
    func encryptedPing() throws {
        let codec = PacketCodec(keyring: try Keyring(primary: Golden.g7Key))
        #expect(try codec.decodePacket(Golden.g7Datagram) == [.ping(Golden.encPing)])
        let encoded = try codec.encodePacket([.ping(Golden.encPing)], nonce: Golden.g7Nonce)
        #expect(encoded.hexString == Golden.g7Datagram.hexString)
        var replay = ReplayedBytes(Golden.g7Nonce)
        #expect(try codec.encodePacket([.ping(Golden.encPing)], using: &replay) == Golden.g7Datagram)
    }
}

/// The ack payload of G6: Serf ping version 1 and an all-zero coordinate, as Go encodes it.
enum GoldenCoordinate {
    static var zeroPayload: [UInt8] {
        var writer = MsgpackWriter()
        writer.writeEncoded([1])
        writer.writeMapHeader(4)
        writer.writeString("Adjustment")
        writer.writeFloat64(0)
        writer.writeString("Error")
        writer.writeFloat64(1.5)
        writer.writeString("Height")
        writer.writeFloat64(1e-05)
        writer.writeString("Vec")
        writer.writeArrayHeader(8)
        for _ in 0..<8 { writer.writeFloat64(0) }
        return writer.bytes
    }
}
