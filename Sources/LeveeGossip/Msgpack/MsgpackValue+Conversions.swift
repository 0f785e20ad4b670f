/// Conversions from a decoded value to the Go field types memberlist and Serf use.
///
/// They follow go-msgpack 0.5.5's decoder (codec/decode.go, codec/msgpack.go): any integer width
/// goes into any integer field if the value fits (otherwise "overflow"), str and bin both go into
/// `string` and `[]byte`, and `nil` leaves a field at its zero value.
extension MsgpackValue {
    /// An unsigned integer field (`uint8` … `uint64`).
    public func unsigned<T: FixedWidthInteger & UnsignedInteger>(
        _: T.Type = T.self,
        field: String
    ) throws(WireError) -> T {
        switch self {
        case .nil:
            return 0
        case .uint(let value):
            guard let result = T(exactly: value) else {
                throw WireError(.typeMismatch, field: field, "\(value) overflows \(T.self)")
            }
            return result
        case .int(let value):
            throw WireError(.typeMismatch, field: field, "negative \(value) for unsigned \(T.self)")
        default:
            throw WireError(.typeMismatch, field: field, "expected an integer, got \(kindName)")
        }
    }

    /// A signed integer field (`int`, `int64`, `time.Duration`).
    public func signed<T: FixedWidthInteger & SignedInteger>(
        _: T.Type = T.self,
        field: String
    ) throws(WireError) -> T {
        switch self {
        case .nil:
            return 0
        case .uint(let value):
            guard let result = T(exactly: value) else {
                throw WireError(.typeMismatch, field: field, "\(value) overflows \(T.self)")
            }
            return result
        case .int(let value):
            guard let result = T(exactly: value) else {
                throw WireError(.typeMismatch, field: field, "\(value) overflows \(T.self)")
            }
            return result
        default:
            throw WireError(.typeMismatch, field: field, "expected an integer, got \(kindName)")
        }
    }

    public func bool(field: String) throws(WireError) -> Bool {
        switch self {
        case .nil: return false
        case .bool(let value): return value
        default: throw WireError(.typeMismatch, field: field, "expected a bool, got \(kindName)")
        }
    }

    public func float64(field: String) throws(WireError) -> Double {
        switch self {
        case .nil: return 0
        case .float64(let value): return value
        case .float32(let value): return Double(value)
        case .uint(let value): return Double(value)
        case .int(let value): return Double(value)
        default: throw WireError(.typeMismatch, field: field, "expected a float, got \(kindName)")
        }
    }

    /// A `[]byte` field that distinguishes nil (`c0`) from empty.
    public func bytesOrNil(field: String) throws(WireError) -> [UInt8]? {
        switch self {
        case .nil: return nil
        case .raw(let bytes): return bytes
        default: throw WireError(.typeMismatch, field: field, "expected bytes, got \(kindName)")
        }
    }

    /// A `[]byte` field where nil and empty mean the same.
    public func bytes(field: String) throws(WireError) -> [UInt8] {
        try bytesOrNil(field: field) ?? []
    }

    /// A `string` field. Go strings are arbitrary bytes; invalid UTF-8 is replaced, not rejected.
    public func string(field: String) throws(WireError) -> String {
        String(decoding: try bytes(field: field), as: UTF8.self)
    }

    /// A slice field; nil decodes as `nil`.
    public func arrayOrNil(field: String) throws(WireError) -> [MsgpackValue]? {
        switch self {
        case .nil: return nil
        case .array(let elements): return elements
        default: throw WireError(.typeMismatch, field: field, "expected an array, got \(kindName)")
        }
    }

    /// A Go `map[string]T`; nil decodes as empty. Later duplicates win, as in Go.
    public func stringKeyedMap(field: String) throws(WireError) -> [(key: String, value: MsgpackValue)] {
        switch self {
        case .nil:
            return []
        case .map(let pairs):
            var result: [(key: String, value: MsgpackValue)] = []
            result.reserveCapacity(pairs.count)
            for pair in pairs {
                result.append((try pair.key.string(field: field + ".key"), pair.value))
            }
            return result
        default:
            throw WireError(.typeMismatch, field: field, "expected a map, got \(kindName)")
        }
    }

    /// A short name of the value's family, for error messages.
    public var kindName: String {
        switch self {
        case .nil: "nil"
        case .bool: "bool"
        case .uint, .int: "integer"
        case .float32, .float64: "float"
        case .raw: "str"
        case .array: "array"
        case .map: "map"
        case .ext: "ext"
        }
    }
}
