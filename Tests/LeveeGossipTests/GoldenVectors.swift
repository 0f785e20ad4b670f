import LeveeGossip

/// The captures of memberlist-serf-wire.md §5.2, taken from serf 0.9.4 agents on 127.0.0.1.
enum Golden {
    /// G1: UDP ping, beta → alpha.
    static let g1Ping = hex(
        "0085a44e6f6465a5616c706861a55365714e6f01aa536f7572636541646472a47f000001aa536f757263654e6f6465a462657461aa536f75726365506f7274cd1f0b"
    )
    /// G2: UDP ack, beta → alpha, with a Serf coordinate payload.
    static let g2Ack = hex(
        "0282a75061796c6f6164da00820184aa41646a7573746d656e74cb3eeca37b7a06c7bea54572726f72cb3ff6f01b28d5aa3ca6486569676874cb3ee4f8b588e368f1a356656398cbbef5ce3eb560e880cbbf038a7207a589c5cb3ee4ee17dbfc9630cbbf006e6b34b50e81cb3efe979f466b252ccb3ef892a30693dcc7cb3f03eaacfd868c7acbbef3677abbb6d3a5a55365714e6f01"
    )
    /// G3: alive gossip with CRC, alpha → beta, about gamma.
    static let g3AliveWithCRC = hex(
        "0c46acd7da0486a441646472a47f000001ab496e6361726e6174696f6e01a44d657461a2ff80a44e6f6465a567616d6d61a4506f7274cd1f0ca356736ea6010502020505"
    )
    /// G4: Serf user event with CRC.
    static let g4UserEventWithCRC = hex(
        "0ca639cc5a080384a24343c3a54c54696d6501a44e616d65a66465706c6f79a75061796c6f6164a676312e322e33"
    )
    /// G5: indirect ping.
    static let g5IndirectPing = hex(
        "0188a44e61636bc3a44e6f6465a567616d6d61a4506f7274cd1f0ca55365714e6f0daa536f7572636541646472a47f000001aa536f757263654e6f6465a5616c706861aa536f75726365506f7274cd1f0aa6546172676574a47f000001"
    )
    /// G5: nack, SeqNo 13.
    static let g5Nack = hex("0b81a55365714e6f0d")
    /// G5: probe of a suspect node: CRC, compound [ping, suspect].
    static let g5SuspectProbe = hex(
        "0c30eb4e350702004300250085a44e6f6465a567616d6d61a55365714e6f0eaa536f7572636541646472a47f000001aa536f757263654e6f6465a5616c706861aa536f75726365506f7274cd1f0a0383a446726f6da5616c706861ab496e6361726e6174696f6e01a44e6f6465a567616d6d61"
    )
    /// G5: dead with CRC.
    static let g5DeadWithCRC = hex(
        "0cd807913e0583a446726f6da5616c706861ab496e6361726e6174696f6e01a44e6f6465a567616d6d61"
    )
    /// G6: an LZW-compressed UDP ack (zero coordinate).
    static let g6CompressedAck = hex(
        "0982a4416c676f00a3427566da00620005083a05254c1e366fc290d10640500042aa82905153670e9d3665dcd05906a0a3c78ea58ac891f346ceb21ff83e763485a44c9a336836fa2087af16a27168e28db252660c268e2a3b020d3a5465d18f473d26151a9469d35253cac471f2264040"
    )
    /// G6: a compressed TCP ack and what it decompresses to.
    static let g6CompressedStreamAck = hex(
        "0982a4416c676f00a3427566b70005083a05254c1e366fc29001566a4a99384ede340808"
    )
    static let g6StreamAckPlain = hex("0282a75061796c6f6164c0a55365714e6f0d")

    /// G7: encrypted UDP ping, key 00…1f, AES-256-GCM, version 1.
    static let g7Key: [UInt8] = Array(0..<32)
    static let g7Nonce = hex("58f41c00dad0e3aff9fbe37f")
    static let g7CiphertextAndTag = hex(
        "821ca578cb6b3d104b3708949c3f1b72d8e71c6e2bb353c498be54b02aea40fc9a3b4b80cd676a72ba2df04257e65a9e8645e898425bfb7056464c1088077e2d808852"
            + "216562a968e1d93dfd54d838b6f04544"
    )
    static let g7Plain = hex(
        "0085a44e6f6465a5656e632d61a55365714e6f01aa536f7572636541646472a47f000001aa536f757263654e6f6465a5656e632d62aa536f75726365506f7274cd1f15"
    )
    static var g7Datagram: [UInt8] { [1] + g7Nonce + g7CiphertextAndTag }

    static let localhost: [UInt8] = [127, 0, 0, 1]

    static let pingBetaToAlpha = Ping(
        seqNo: 1,
        node: "alpha",
        sourceAddr: localhost,
        sourcePort: 7947,
        sourceNode: "beta"
    )
    static let aliveGamma = Alive(
        incarnation: 1,
        node: "gamma",
        addr: localhost,
        port: 7948,
        meta: [0xff, 0x80],
        versions: .serfAgent
    )
    static let indirectPingGamma = IndirectPing(
        seqNo: 13,
        target: localhost,
        port: 7948,
        node: "gamma",
        nack: true,
        sourceAddr: localhost,
        sourcePort: 7946,
        sourceNode: "alpha"
    )
    static let pingGammaFromAlpha = Ping(
        seqNo: 14,
        node: "gamma",
        sourceAddr: localhost,
        sourcePort: 7946,
        sourceNode: "alpha"
    )
    static let suspectGamma = Suspect(incarnation: 1, node: "gamma", from: "alpha")
    static let deadGamma = Dead(incarnation: 1, node: "gamma", from: "alpha")
    static let encPing = Ping(seqNo: 1, node: "enc-a", sourceAddr: localhost, sourcePort: 7957, sourceNode: "enc-b")
}

/// Bytes from a hex string; traps on a malformed literal, which only tests write.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8)
    precondition(digits.count % 2 == 0, "odd hex literal")
    return stride(from: 0, to: digits.count, by: 2).map { index in
        UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16)!
    }
}

extension Array where Element == UInt8 {
    var hexString: String {
        map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

/// A random source that replays fixed bytes, to pin encryption nonces in tests.
struct ReplayedBytes: RandomNumberGenerator {
    var bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func next() -> UInt64 {
        var word: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 8) {
            let byte = index < bytes.count ? bytes[index] : 0
            index += 1
            word |= UInt64(byte) << UInt64(shift)
        }
        return word
    }
}
