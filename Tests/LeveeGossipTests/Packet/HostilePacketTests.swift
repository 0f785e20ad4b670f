import LeveeGossip
import Testing

/// Malformed datagrams must throw `WireError`, never trap or allocate without bound.
struct HostilePacketTests {
    static let goldens: [[UInt8]] = [
        Golden.g1Ping, Golden.g2Ack, Golden.g3AliveWithCRC, Golden.g4UserEventWithCRC, Golden.g5IndirectPing,
        Golden.g5Nack, Golden.g5SuspectProbe, Golden.g5DeadWithCRC, Golden.g6CompressedAck,
    ]

    @Test("every truncation of every golden vector throws or decodes without a trap", arguments: 0..<9)
    func truncations(index: Int) {
        let bytes = Self.goldens[index]
        var failures = 0
        for cut in 0..<bytes.count {
            do {
                _ = try PacketCodec().decodePacket(Array(bytes[..<cut]))
            } catch {
                failures += 1
            }
        }
        // A truncated compound just drops its tail parts; everything else must fail.
        #expect(failures >= bytes.count - 70)
        #expect(failures > 0)
    }

    @Test("truncating a single message anywhere is an error", arguments: [Golden.g1Ping, Golden.g5Nack, Golden.g2Ack])
    func truncatedSingle(bytes: [UInt8]) {
        for cut in 0..<bytes.count {
            #expect(throws: WireError.self) { try PacketCodec().decodePacket(Array(bytes[..<cut])) }
        }
    }

    @Test("a wrong CRC is a checksum mismatch")
    func wrongCRC() {
        var bytes = Golden.g3AliveWithCRC
        bytes[4] ^= 0xff
        #expect {
            _ = try PacketCodec().decodePacket(bytes)
        } throws: { error in
            (error as? WireError)?.code == .checksumMismatch
        }
        var body = Golden.g5DeadWithCRC
        body[body.count - 1] ^= 1
        #expect(throws: WireError.self) { try PacketCodec().decodePacket(body) }
    }

    @Test("the wrong key, or plaintext under a keyring, is a decryption failure")
    func wrongKey() throws {
        let wrong = PacketCodec(keyring: try Keyring(primary: [UInt8](repeating: 9, count: 32)))
        #expect(throws: WireError.self) { try wrong.decodePacket(Golden.g7Datagram) }
        let right = PacketCodec(keyring: try Keyring(primary: Golden.g7Key))
        #expect(throws: WireError.self) { try right.decodePacket(Golden.g1Ping) }
        let lenient = PacketCodec(keyring: try Keyring(primary: Golden.g7Key), verifyIncoming: false)
        #expect(try lenient.decodePacket(Golden.g1Ping) == [.ping(Golden.pingBetaToAlpha)])
    }

    @Test(
        "huge declared lengths and counts",
        arguments: [
            "00dbffffffff", "00dfffffffff", "00ddffffffff", "0081a55365714e6fdbffffffff",
            "0982a4416c676f00a3427566dbffffff00",
            "07ff", "0702ffff", "0982a4416c676f01a3427566a100", "0c00000000",
        ]
    )
    func hugeDeclarations(hexBytes: String) {
        #expect(throws: WireError.self) { try PacketCodec().decodePacket(hex(hexBytes)) }
    }

    @Test("a compound whose tail is cut keeps the complete parts, as Go does")
    func truncatedCompound() throws {
        let bytes = Array(Golden.g5SuspectProbe[5..<80])
        #expect(try PacketCodec().decodePacket(bytes) == [.ping(Golden.pingGammaFromAlpha)])
    }

    @Test("wrappers cannot nest without bound")
    func nesting() {
        var bytes = Message.nack(Nack(seqNo: 1)).encoded()
        for _ in 0..<20 {
            bytes = [7, 1, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes
        }
        #expect {
            _ = try PacketCodec().decodePacket(bytes)
        } throws: { error in
            (error as? WireError)?.code == .limitExceeded
        }
    }

    @Test("an LZW bomb stops at the decompression limit")
    func bomb() throws {
        let huge = Message.user([UInt8](repeating: 0, count: 200_000))
        let codec = PacketCodec(limits: DecodeLimits(maxDecompressedBytes: 65_536))
        let compressed =
            [MessageType.compress.rawValue]
            + CompressedPayload(buf: LZWWriter.compress(huge.encoded())).msgpackEncoded()
        #expect(throws: WireError.self) { try codec.decodePacket(compressed) }
    }

    @Test("a CRC header is honoured only on the outermost layer; unknown types are reported, not thrown")
    func crcNestedAndUnknown() throws {
        let inner = hex("0c00000000") + Golden.g5Nack
        let compound = try Compound.encode([inner, [0xf4, 1, 2]])
        let messages = try PacketCodec().decodePacket(compound)
        #expect(
            messages == [.unsupported(type: 12, body: Array(inner[1...])), .unsupported(type: 0xf4, body: [1, 2])]
        )
    }

    @Test("compound limits on encode")
    func compoundLimits() {
        #expect(throws: WireError.self) { try Compound.encode(Array(repeating: [0], count: 256)) }
        #expect(throws: WireError.self) { try Compound.encode([[UInt8](repeating: 0, count: 65_536)]) }
    }
}
