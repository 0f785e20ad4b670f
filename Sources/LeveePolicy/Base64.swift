/// Standard base64 with padding (RFC 4648 §4), read the way Go's `base64.StdEncoding.DecodeString`
/// reads it, because the gossip pool's key is written by Go: `serf keygen` prints it, and serf reads
/// `-encrypt` and its configuration file's `encrypt_key` with `StdEncoding` (serf
/// cmd/serf/command/agent/config.go `EncryptBytes`). A key that serf accepts must be accepted here,
/// whether it comes from `gossip.encrypt_key` or from the command line, and one that serf refuses must
/// be refused.
///
/// As in Go, `\r` and `\n` are skipped wherever they are (a key pasted from a wrapped file or a CRLF
/// file still decodes); padding is required, and `=` may only end the text, once or twice; any other
/// byte outside the alphabet is refused. Like `StdEncoding` and unlike its `Strict()` variant, non-zero
/// bits after the last byte (`"Zh=="` for `"Zg=="`) are accepted and dropped.
public enum Base64 {
    /// The bytes `text` encodes, or nil when it is not padded standard base64. An empty text (or one of
    /// only line breaks) is no bytes, as in Go.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\r", "\n":
                continue
            case "=":
                padding += 1
                values.append(0)
            default:
                guard padding == 0, let value = sextet(scalar) else { return nil }
                values.append(value)
            }
        }
        guard values.count % 4 == 0, padding <= 2 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(values.count / 4 * 3)
        var index = 0
        while index < values.count {
            let group =
                UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6
                | UInt32(values[index + 3])
            output.append(UInt8(truncatingIfNeeded: group >> 16))
            output.append(UInt8(truncatingIfNeeded: group >> 8))
            output.append(UInt8(truncatingIfNeeded: group))
            index += 4
        }
        output.removeLast(padding)
        return output
    }

    /// `bytes` in padded standard base64, as Go's `base64.StdEncoding.EncodeToString` writes them.
    public static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var group: UInt32 = 0
            for offset in 0..<3 {
                group <<= 8
                if offset < count { group |= UInt32(bytes[index + offset]) }
            }
            for position in 0..<4 {
                if position <= count {
                    output.append(alphabet[Int((group >> UInt32(18 - 6 * position)) & 0x3f)])
                } else {
                    output.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The value of one character of the RFC 4648 §4 alphabet, or nil for any other character.
    private static func sextet(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0x41...0x5a: UInt8(scalar.value - 0x41)
        case 0x61...0x7a: UInt8(scalar.value - 0x61 + 26)
        case 0x30...0x39: UInt8(scalar.value - 0x30 + 52)
        case 0x2b: 62
        case 0x2f: 63
        default: nil
        }
    }
}
