/// Several messages in one packet (memberlist util.go `makeCompoundMessage`,
/// `decodeCompoundMessage`): `[7][n u8][len₁ u16 BE]…[lenₙ u16 BE][msg₁]…[msgₙ]`.
public enum Compound {
    /// util.go: at most 255 parts, each at most 65 535 bytes.
    public static let maxParts = 255
    public static let maxPartBytes = 65_535

    /// Encodes `parts`, each already `[type][body]`, including the leading type byte 7.
    public static func encode(_ parts: [[UInt8]]) throws(WireError) -> [UInt8] {
        guard parts.count <= maxParts else {
            throw WireError(.limitExceeded, field: "compound", "\(parts.count) parts, at most \(maxParts)")
        }
        var output: [UInt8] = [MessageType.compound.rawValue, UInt8(parts.count)]
        for part in parts {
            guard part.count <= maxPartBytes else {
                throw WireError(
                    .limitExceeded,
                    field: "compound",
                    "a part of \(part.count) bytes, at most \(maxPartBytes)"
                )
            }
            output.append(UInt8(truncatingIfNeeded: part.count >> 8))
            output.append(UInt8(truncatingIfNeeded: part.count))
        }
        for part in parts { output.append(contentsOf: part) }
        return output
    }

    /// Splits a compound body (the bytes after the type byte) into its parts.
    ///
    /// As in Go, a missing count or a short length table is an error, while parts cut short by the
    /// end of the packet are dropped and counted in `truncated`.
    public static func decode(body: [UInt8]) throws(WireError) -> (parts: [[UInt8]], truncated: Int) {
        var reader = ByteReader(body, field: "compound")
        let count = Int(try reader.readByte())
        var lengths: [Int] = []
        lengths.reserveCapacity(count)
        for _ in 0..<count {
            lengths.append(Int(try reader.readBigEndian(byteCount: 2)))
        }
        var parts: [[UInt8]] = []
        for (index, length) in lengths.enumerated() {
            guard length <= reader.remaining else {
                return (parts, count - index)
            }
            parts.append(try reader.readBytes(length))
        }
        return (parts, 0)
    }
}
