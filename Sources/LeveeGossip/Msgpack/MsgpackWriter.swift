/// Writes msgpack exactly as go-msgpack 0.5.5 does with a zero `codec.MsgpackHandle{}`.
///
/// The rules, each from go-msgpack codec/msgpack.go (`msgpackEncDriver`):
/// - a non-negative integer, signed or not, takes the smallest *unsigned* form (`EncodeInt` calls
///   `EncodeUint` when `i >= 0`): positive fixint, then `cc`, `cd`, `ce`, `cf`;
/// - a negative integer takes negative fixint, then `d0`–`d3`;
/// - strings and byte slices both use the old raw family: fixstr, `da` (u16), `db` (u32); never
///   str8 (`d9`) or bin (`c4`–`c6`), because `WriteExt` is false (`EncodeStringBytes`);
/// - a nil slice is `c0`; an empty non-nil one is `a0` or `90`.
public struct MsgpackWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func writeNil() { bytes.append(0xc0) }

    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 0xc3 : 0xc2) }

    /// go-msgpack `EncodeUint`.
    public mutating func writeUnsigned(_ value: UInt64) {
        switch value {
        case 0...0x7f:
            bytes.append(UInt8(value))
        case 0x80...0xff:
            bytes.append(0xcc)
            bytes.append(UInt8(value))
        case 0x100...0xffff:
            bytes.append(0xcd)
            appendBigEndian(value, byteCount: 2)
        case 0x1_0000...0xffff_ffff:
            bytes.append(0xce)
            appendBigEndian(value, byteCount: 4)
        default:
            bytes.append(0xcf)
            appendBigEndian(value, byteCount: 8)
        }
    }

    /// go-msgpack `EncodeInt`: non-negative values go through `EncodeUint`.
    public mutating func writeSigned(_ value: Int64) {
        if value >= 0 {
            writeUnsigned(UInt64(value))
            return
        }
        let pattern = UInt64(bitPattern: value)
        switch value {
        case -32..<0:
            bytes.append(UInt8(truncatingIfNeeded: pattern))
        case Int64(Int8.min) ..< -32:
            bytes.append(0xd0)
            appendBigEndian(pattern, byteCount: 1)
        case Int64(Int16.min)..<Int64(Int8.min):
            bytes.append(0xd1)
            appendBigEndian(pattern, byteCount: 2)
        case Int64(Int32.min)..<Int64(Int16.min):
            bytes.append(0xd2)
            appendBigEndian(pattern, byteCount: 4)
        default:
            bytes.append(0xd3)
            appendBigEndian(pattern, byteCount: 8)
        }
    }

    public mutating func writeFloat64(_ value: Double) {
        bytes.append(0xcb)
        appendBigEndian(value.bitPattern, byteCount: 8)
    }

    public mutating func writeFloat32(_ value: Float) {
        bytes.append(0xca)
        appendBigEndian(UInt64(value.bitPattern), byteCount: 4)
    }

    /// A Go `string` or non-nil `[]byte`, in the raw family (go-msgpack `EncodeStringBytes` with
    /// `WriteExt=false`). Lengths above `UInt32.max` cannot occur for a Swift array in practice.
    public mutating func writeRaw(_ value: some Collection<UInt8>) {
        let count = value.count
        if count < 32 {
            bytes.append(0xa0 | UInt8(count))
        } else if count <= 0xffff {
            bytes.append(0xda)
            appendBigEndian(UInt64(count), byteCount: 2)
        } else {
            bytes.append(0xdb)
            appendBigEndian(UInt64(count), byteCount: 4)
        }
        bytes.append(contentsOf: value)
    }

    public mutating func writeString(_ value: String) { writeRaw(value.utf8) }

    /// A Go `[]byte` that may be nil: nil is `c0` (go-msgpack encode.go `kSlice` on a nil slice).
    public mutating func writeRawOrNil(_ value: [UInt8]?) {
        if let value { writeRaw(value) } else { writeNil() }
    }

    /// go-msgpack `EncodeArrayStart`: fixarray, `dc` u16, `dd` u32.
    public mutating func writeArrayHeader(_ count: Int) {
        writeContainerHeader(count, fix: 0x90, u16: 0xdc, u32: 0xdd)
    }

    /// go-msgpack `EncodeMapStart`: fixmap, `de` u16, `df` u32. A Go struct is a map of its fields.
    public mutating func writeMapHeader(_ count: Int) {
        writeContainerHeader(count, fix: 0x80, u16: 0xde, u32: 0xdf)
    }

    /// Appends bytes that are already encoded msgpack (or a type byte).
    public mutating func writeEncoded(_ encoded: some Sequence<UInt8>) {
        bytes.append(contentsOf: encoded)
    }

    /// Writes a decoded value back; the width of each integer is chosen again, Go's way.
    public mutating func write(_ value: MsgpackValue) {
        switch value {
        case .nil: writeNil()
        case .bool(let b): writeBool(b)
        case .uint(let u): writeUnsigned(u)
        case .int(let i): writeSigned(i)
        case .float32(let f): writeFloat32(f)
        case .float64(let d): writeFloat64(d)
        case .raw(let r): writeRaw(r)
        case .array(let elements):
            writeArrayHeader(elements.count)
            for element in elements { write(element) }
        case .map(let pairs):
            writeMapHeader(pairs.count)
            for pair in pairs {
                write(pair.key)
                write(pair.value)
            }
        case .ext(let type, let data):
            writeExt(type: type, data: data)
        }
    }

    private mutating func writeExt(type: Int8, data: [UInt8]) {
        switch data.count {
        case 1: bytes.append(0xd4)
        case 2: bytes.append(0xd5)
        case 4: bytes.append(0xd6)
        case 8: bytes.append(0xd7)
        case 16: bytes.append(0xd8)
        case 0...0xff:
            bytes.append(0xc7)
            bytes.append(UInt8(data.count))
        case 0x100...0xffff:
            bytes.append(0xc8)
            appendBigEndian(UInt64(data.count), byteCount: 2)
        default:
            bytes.append(0xc9)
            appendBigEndian(UInt64(data.count), byteCount: 4)
        }
        bytes.append(UInt8(bitPattern: type))
        bytes.append(contentsOf: data)
    }

    private mutating func writeContainerHeader(_ count: Int, fix: UInt8, u16: UInt8, u32: UInt8) {
        if count < 16 {
            bytes.append(fix | UInt8(count))
        } else if count <= 0xffff {
            bytes.append(u16)
            appendBigEndian(UInt64(count), byteCount: 2)
        } else {
            bytes.append(u32)
            appendBigEndian(UInt64(count), byteCount: 4)
        }
    }

    private mutating func appendBigEndian(_ value: UInt64, byteCount: Int) {
        for index in stride(from: byteCount - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (UInt64(index) * 8)))
        }
    }
}
