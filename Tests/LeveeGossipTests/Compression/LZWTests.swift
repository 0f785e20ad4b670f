import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

/// LZW against Go's `compress/lzw` output captured in §5.2 G6, plus round trips that cross the code
/// width changes and the table reset at 4095.
struct LZWTests {
    static let goBuffers: [(compressed: [UInt8], plain: [UInt8])] = [
        (
            Array(Golden.g6CompressedAck[15...]),
            Message.ack(Ack(seqNo: 1, payload: GoldenCoordinate.zeroPayload)).encoded()
        ),
        (Array(Golden.g6CompressedStreamAck[13..<36]), Golden.g6StreamAckPlain),
    ]

    @Test("decompresses Go's output and compresses to it byte for byte", arguments: 0..<2)
    func goVectors(index: Int) throws {
        let (compressed, plain) = Self.goBuffers[index]
        #expect(try LZWReader.decompress(compressed, maxOutputBytes: 1 << 20) == plain)
        #expect(LZWWriter.compress(plain).hexString == compressed.hexString)
    }

    @Test("round trips", arguments: [0, 1, 2, 100, 5000, 70_000])
    func roundTrip(count: Int) throws {
        var random = SeededRandom(seed: UInt64(count))
        let alphabet = Array("abcab".utf8)
        let noisy = (0..<count).map { index in
            index % 3 == 0 ? UInt8.random(in: 0...255, using: &random) : alphabet[index % alphabet.count]
        }
        let repetitive = [UInt8](repeating: 0x41, count: count)
        for input in [noisy, repetitive] {
            #expect(try LZWReader.decompress(LZWWriter.compress(input), maxOutputBytes: 1 << 20) == input)
        }
    }

    @Test("empty input is a clear code and EOF")
    func empty() throws {
        #expect(LZWWriter.compress([]) == [0x00, 0x03, 0x02])
        #expect(try LZWReader.decompress([0x00, 0x03, 0x02], maxOutputBytes: 10) == [])
    }

    @Test("malformed streams are errors, not traps")
    func malformed() {
        // Ends without EOF.
        #expect(throws: WireError.self) { try LZWReader.decompress([0x00, 0x05], maxOutputBytes: 100) }
        // Code 300 before any code is defined.
        #expect(throws: WireError.self) { try LZWReader.decompress([0x2c, 0x03], maxOutputBytes: 100) }
        // A bomb: a long run expands past the cap.
        let bomb = LZWWriter.compress([UInt8](repeating: 0, count: 100_000))
        #expect {
            _ = try LZWReader.decompress(bomb, maxOutputBytes: 50_000)
        } throws: { error in
            (error as? WireError)?.code == .limitExceeded
        }
    }
}
