/// Reads msgpack values leniently: every valid type width is accepted, as go-msgpack 0.5.5 does
/// (codec/msgpack.go `msgpackDecDriver`), including the str8 and bin families Go never writes.
///
/// Hostile input is bounded: a declared length or count larger than the bytes left is `.truncated`
/// (so a stream reader knows to wait), a container of more than `limits.maxCollectionCount` elements
/// or nesting deeper than `limits.maxMsgpackDepth` is `.limitExceeded`, and `0xc1` is invalid.
public struct MsgpackReader: Sendable {
    /// The most elements one array or map may declare. Serf's largest real container is the 512-slot
    /// event ring; memberlist sends node states as separate values.
    public static let maxCollectionCount = 65_536

    private var input: ByteReader
    private let limits: DecodeLimits

    public init(_ bytes: [UInt8], offset: Int = 0, limits: DecodeLimits = .defaults) {
        input = ByteReader(bytes, offset: offset, field: "msgpack")
        self.limits = limits
    }

    /// The offset of the next unread byte.
    public var offset: Int { input.offset }

    /// Decodes the next complete value.
    public mutating func readValue() throws(WireError) -> MsgpackValue {
        try readValue(depth: 0)
    }

    private mutating func readValue(depth: Int) throws(WireError) -> MsgpackValue {
        let start = input.offset
        let marker = try input.readByte()
        switch marker {
        case 0x00...0x7f:
            return .uint(UInt64(marker))
        case 0x80...0x8f:
            return try readMap(count: Int(marker & 0x0f), depth: depth)
        case 0x90...0x9f:
            return try readArray(count: Int(marker & 0x0f), depth: depth)
        case 0xa0...0xbf:
            return .raw(try input.readBytes(Int(marker & 0x1f)))
        case 0xc0:
            return .nil
        case 0xc1:
            throw WireError(.invalidMsgpack, field: "msgpack", "never-used byte 0xc1 at offset \(start)")
        case 0xc2:
            return .bool(false)
        case 0xc3:
            return .bool(true)
        case 0xc4, 0xd9:
            return .raw(try input.readBytes(Int(try input.readBigEndian(byteCount: 1))))
        case 0xc5, 0xda:
            return .raw(try input.readBytes(Int(try input.readBigEndian(byteCount: 2))))
        case 0xc6, 0xdb:
            return .raw(try input.readBytes(Int(try input.readBigEndian(byteCount: 4))))
        case 0xc7, 0xc8, 0xc9:
            let width = marker == 0xc7 ? 1 : marker == 0xc8 ? 2 : 4
            let count = Int(try input.readBigEndian(byteCount: width))
            let type = Int8(bitPattern: try input.readByte())
            return .ext(type: type, data: try input.readBytes(count))
        case 0xca:
            return .float32(Float(bitPattern: UInt32(try input.readBigEndian(byteCount: 4))))
        case 0xcb:
            return .float64(Double(bitPattern: try input.readBigEndian(byteCount: 8)))
        case 0xcc:
            return .uint(try input.readBigEndian(byteCount: 1))
        case 0xcd:
            return .uint(try input.readBigEndian(byteCount: 2))
        case 0xce:
            return .uint(try input.readBigEndian(byteCount: 4))
        case 0xcf:
            return .uint(try input.readBigEndian(byteCount: 8))
        case 0xd0:
            return Self.signed(Int64(Int8(truncatingIfNeeded: try input.readBigEndian(byteCount: 1))))
        case 0xd1:
            return Self.signed(Int64(Int16(truncatingIfNeeded: try input.readBigEndian(byteCount: 2))))
        case 0xd2:
            return Self.signed(Int64(Int32(truncatingIfNeeded: try input.readBigEndian(byteCount: 4))))
        case 0xd3:
            return Self.signed(Int64(bitPattern: try input.readBigEndian(byteCount: 8)))
        case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
            let count = 1 << Int(marker - 0xd4)
            let type = Int8(bitPattern: try input.readByte())
            return .ext(type: type, data: try input.readBytes(count))
        case 0xdc:
            return try readArray(count: Int(try input.readBigEndian(byteCount: 2)), depth: depth)
        case 0xdd:
            return try readArray(count: Int(try input.readBigEndian(byteCount: 4)), depth: depth)
        case 0xde:
            return try readMap(count: Int(try input.readBigEndian(byteCount: 2)), depth: depth)
        case 0xdf:
            return try readMap(count: Int(try input.readBigEndian(byteCount: 4)), depth: depth)
        default:  // 0xe0...0xff
            return .int(Int64(Int8(bitPattern: marker)))
        }
    }

    /// Signed markers may carry non-negative values (other encoders use them); fold those into
    /// `.uint` so a field sees one family per sign.
    private static func signed(_ value: Int64) -> MsgpackValue {
        value >= 0 ? .uint(UInt64(value)) : .int(value)
    }

    private mutating func checkContainer(count: Int, minimumBytesPerElement: Int, depth: Int) throws(WireError) {
        guard depth < limits.maxMsgpackDepth else {
            throw WireError(.limitExceeded, field: "msgpack", "nesting deeper than \(limits.maxMsgpackDepth)")
        }
        guard count <= Self.maxCollectionCount else {
            throw WireError(
                .limitExceeded,
                field: "msgpack",
                "container declares \(count) elements, limit \(Self.maxCollectionCount)"
            )
        }
        // Each element takes at least one byte: a count beyond the input cannot be satisfied yet.
        try input.require(count * minimumBytesPerElement)
    }

    private mutating func readArray(count: Int, depth: Int) throws(WireError) -> MsgpackValue {
        try checkContainer(count: count, minimumBytesPerElement: 1, depth: depth)
        var elements: [MsgpackValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            elements.append(try readValue(depth: depth + 1))
        }
        return .array(elements)
    }

    private mutating func readMap(count: Int, depth: Int) throws(WireError) -> MsgpackValue {
        try checkContainer(count: count, minimumBytesPerElement: 2, depth: depth)
        var pairs: [(key: MsgpackValue, value: MsgpackValue)] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count {
            let key = try readValue(depth: depth + 1)
            let value = try readValue(depth: depth + 1)
            pairs.append((key, value))
        }
        return .map(pairs)
    }
}
