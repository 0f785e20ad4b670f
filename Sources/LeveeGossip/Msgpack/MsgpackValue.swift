/// One decoded msgpack value, with the wire's type families folded the way go-msgpack reads them.
///
/// Strings and byte slices share one case, `.raw`: go-msgpack 0.5.5 with `RawToString=false` writes
/// both as the old "raw" family and reads str8/bin into either (go-msgpack codec/msgpack.go
/// `DecodeBytes`, `DecodeString`). Integers keep their sign family so a field can check its range.
public enum MsgpackValue: Hashable, Sendable {
    case `nil`
    case bool(Bool)
    /// A non-negative integer of any width (positive fixint, `cc`–`cf`).
    case uint(UInt64)
    /// A negative integer (negative fixint, `d0`–`d3`); never holds a non-negative value when decoded.
    case int(Int64)
    case float32(Float)
    case float64(Double)
    /// A str or bin: bytes as they were on the wire.
    case raw([UInt8])
    case array([MsgpackValue])
    /// Key/value pairs in wire order (Go maps come in random order; duplicates are kept).
    case map([(key: MsgpackValue, value: MsgpackValue)])
    /// An extension value (`d4`–`d8`, `c7`–`c9`); memberlist and Serf never send one.
    case ext(type: Int8, data: [UInt8])

    public static func == (lhs: MsgpackValue, rhs: MsgpackValue) -> Bool {
        switch (lhs, rhs) {
        case (.nil, .nil): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.uint(let a), .uint(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.float32(let a), .float32(let b)): return a.bitPattern == b.bitPattern
        case (.float64(let a), .float64(let b)): return a.bitPattern == b.bitPattern
        case (.raw(let a), .raw(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.map(let a), .map(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.ext(let t1, let d1), .ext(let t2, let d2)): return t1 == t2 && d1 == d2
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .nil: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .uint(let u): hasher.combine(u)
        case .int(let i): hasher.combine(i)
        case .float32(let f): hasher.combine(f.bitPattern)
        case .float64(let d): hasher.combine(d.bitPattern)
        case .raw(let r): hasher.combine(r)
        case .array(let a): hasher.combine(a)
        case .map(let m):
            hasher.combine(m.count)
            for pair in m {
                hasher.combine(pair.key)
                hasher.combine(pair.value)
            }
        case .ext(let t, let d):
            hasher.combine(t)
            hasher.combine(d)
        }
    }

    /// A string value, as go-msgpack writes a Go `string`.
    public static func string(_ s: String) -> MsgpackValue { .raw(Array(s.utf8)) }
}
