import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

struct StreamFramerTests {
    static let pushPull = PushPull(
        join: true,
        nodes: [
            PushNodeState(
                name: "beta",
                addr: Golden.localhost,
                port: 7947,
                meta: [0xff, 0x80],
                incarnation: 1,
                state: .alive
            )
        ],
        userState: Array(repeating: 7, count: 588)
    )

    static let messages: [StreamMessage] = [
        .ping(Golden.pingBetaToAlpha),
        .ack(Ack(seqNo: 13)),
        .pushPull(pushPull),
        .pushPull(PushPull(join: false, nodes: [], userState: [])),
        .user([8, 1, 2, 3]),
        .err(ErrorResponse(error: "Encryption is configured but remote state is not encrypted")),
    ]

    @Test("G6 stream: a compressed TCP ack decodes, and compresses to the capture")
    func goldenCompressedAck() throws {
        #expect(try StreamFramer.decode(Golden.g6CompressedStreamAck) == .ack(Ack(seqNo: 13)))
        var random = SeededRandom(seed: 0)
        let bytes = try StreamEncoder(compress: true).encode(.ack(Ack(seqNo: 13)), using: &random)
        #expect(bytes.hexString == Golden.g6CompressedStreamAck.hexString)
    }

    @Test(
        "byte-at-a-time delivery yields the message exactly when complete",
        arguments: messages,
        [false, true]
    )
    func incremental(message: StreamMessage, compressed: Bool) throws {
        var random = SeededRandom(seed: 3)
        for keyring in [nil, try Keyring(primary: Golden.g7Key)] {
            let encoder = StreamEncoder(compress: compressed, keyring: keyring)
            let bytes = try encoder.encode(message, using: &random) + [0xee]
            var framer = StreamFramer(keyring: keyring)
            var produced: StreamMessage? = nil
            for (index, byte) in bytes.enumerated() {
                try framer.append(CollectionOfOne(byte))
                if produced == nil, let next = try framer.nextMessage() {
                    #expect(index == bytes.count - 2)
                    produced = next
                }
            }
            #expect(produced == message)
            #expect(framer.bufferedByteCount == 1)
        }
    }

    @Test("G8 shape: a join push/pull with a 512-slot nil event ring survives compression")
    func joinPushPull() throws {
        var random = SeededRandom(seed: 5)
        let bytes = try StreamEncoder(compress: true).encode(.pushPull(Self.pushPull), using: &random)
        #expect(bytes.first == MessageType.compress.rawValue)
        #expect(try StreamFramer.decode(bytes) == .pushPull(Self.pushPull))
    }

    @Test("plaintext is refused when encryption is configured; encrypted without a keyring too")
    func verifyIncoming() throws {
        let keyring = try Keyring(primary: Golden.g7Key)
        var framer = StreamFramer(keyring: keyring)
        try framer.append(StreamMessage.ack(Ack(seqNo: 1)).encoded())
        #expect(throws: WireError.self) { try framer.nextMessage() }
        var lenient = StreamFramer(keyring: keyring, verifyIncoming: false)
        try lenient.append(StreamMessage.ack(Ack(seqNo: 1)).encoded())
        #expect(try lenient.nextMessage() == .ack(Ack(seqNo: 1)))
        var random = SeededRandom(seed: 1)
        let sealed = try StreamEncoder(keyring: keyring).encode(.ack(Ack(seqNo: 1)), using: &random)
        #expect(throws: WireError.self) { try StreamFramer.decode(sealed) }
    }

    @Test("the encrypted stream authenticates its 5-byte header")
    func headerIsAuthenticated() throws {
        let keyring = try Keyring(primary: Golden.g7Key)
        var random = SeededRandom(seed: 2)
        let sealed = try StreamEncoder(keyring: keyring).encode(.ack(Ack(seqNo: 1)), using: &random)
        #expect(Array(sealed[0..<5]) == [0x0a, 0, 0, 0, UInt8(sealed.count - 5)])
        // Declaring a longer body (and supplying it) must fail: the header is additional data.
        var forged = sealed
        forged[4] += 1
        forged.append(0)
        #expect(throws: WireError.self) { try StreamFramer.decode(forged, keyring: keyring) }
    }

    @Test(
        "hostile stream headers are refused without waiting forever",
        arguments: [
            (
                "06" + "83a44a6f696ec2a54e6f646573d2fffffff6ac55736572537461746" + "54c656e00",
                WireError.Code.limitExceeded
            ),
            ("06" + "83a44a6f696ec2a54e6f646573ceffffffffac5573657253746174654c656e00", .limitExceeded),
            ("08" + "81aa557365724d73674c656ed3f000000000000000", .limitExceeded),
            ("0a7fffffff", .unsupportedMessageType),
            ("05", .unsupportedMessageType),
        ]
    )
    func hostile(hexBytes: String, code: WireError.Code) {
        var framer = StreamFramer()
        #expect {
            try framer.append(hex(hexBytes))
            _ = try framer.nextMessage()
        } throws: { error in
            (error as? WireError)?.code == code
        }
    }

    @Test("a stream that never completes stops at the buffer limit")
    func bufferLimit() throws {
        var framer = StreamFramer(limits: DecodeLimits(maxStreamBytes: 1000))
        try framer.append(hex("08") + UserMessageHeader(userMsgLen: 900).msgpackEncoded())
        #expect(try framer.nextMessage() == nil)
        #expect(throws: WireError.self) { try framer.append([UInt8](repeating: 0, count: 1000)) }
    }
}
