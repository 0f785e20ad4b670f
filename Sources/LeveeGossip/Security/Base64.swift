/// Strict standard base64 with padding, as Go's `base64.StdEncoding.DecodeString` reads serf's
/// `-encrypt` key (serf cmd/serf/command/agent/config.go `EncryptBytes`).
///
/// Like Go, it skips `\r` and `\n`, rejects any other byte outside the alphabet and a missing or
/// misplaced `=`, and (not being `Strict`) accepts non-zero trailing bits.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
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

    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
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
