/// A bounds-checked cursor over received bytes: every read either succeeds or throws `.truncated`.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    /// Names the layer being read, for errors.
    let field: String

    init(_ bytes: [UInt8], offset: Int = 0, field: String) {
        self.bytes = bytes
        self.offset = offset
        self.field = field
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    mutating func readByte() throws(WireError) -> UInt8 {
        guard offset < bytes.count else {
            throw WireError(.truncated, field: field, "needed 1 more byte at offset \(offset)")
        }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads a big-endian unsigned integer of `byteCount` (1…8) bytes.
    mutating func readBigEndian(byteCount: Int) throws(WireError) -> UInt64 {
        try require(byteCount)
        var value: UInt64 = 0
        for index in offset..<offset + byteCount {
            value = value << 8 | UInt64(bytes[index])
        }
        offset += byteCount
        return value
    }

    mutating func readBytes(_ count: Int) throws(WireError) -> [UInt8] {
        try require(count)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// The rest of the input.
    mutating func readRemaining() -> [UInt8] {
        defer { offset = bytes.count }
        return offset < bytes.count ? Array(bytes[offset...]) : []
    }

    func require(_ count: Int) throws(WireError) {
        guard count >= 0, count <= remaining else {
            throw WireError(
                .truncated,
                field: field,
                "needed \(count) bytes at offset \(offset), \(max(remaining, 0)) left"
            )
        }
    }
}
