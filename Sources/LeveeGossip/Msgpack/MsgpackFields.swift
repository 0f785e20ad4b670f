/// A msgpack map read as a Go struct: fields by exact key, unknown keys ignored, missing keys zero.
///
/// go-msgpack 0.5.5 decodes a struct from a map by looking each key up in the struct's field list
/// (codec/decode.go `kStruct`): key order does not matter, unknown keys are skipped and a field that
/// is absent keeps its zero value. A struct may also arrive as `nil`, which leaves it all zero.
public struct MsgpackFields: Sendable {
    /// The Go type name, for errors (`"Ping"`).
    public let typeName: String
    private var values: [String: MsgpackValue] = [:]

    public init(_ value: MsgpackValue, typeName: String) throws(WireError) {
        self.typeName = typeName
        switch value {
        case .nil:
            break
        case .map(let pairs):
            for pair in pairs {
                guard case .raw(let key) = pair.key else {
                    throw WireError(.typeMismatch, field: typeName, "struct key is \(pair.key.kindName), not str")
                }
                values[String(decoding: key, as: UTF8.self)] = pair.value
            }
        default:
            throw WireError(.typeMismatch, field: typeName, "expected a map, got \(value.kindName)")
        }
    }

    /// The raw value of `key`, `.nil` when absent.
    public subscript(key: String) -> MsgpackValue { values[key] ?? .nil }

    /// Whether the map had `key` at all.
    public func contains(_ key: String) -> Bool { values[key] != nil }

    public func unsigned<T: FixedWidthInteger & UnsignedInteger>(
        _ key: String,
        _: T.Type = T.self
    ) throws(WireError)
        -> T
    {
        try self[key].unsigned(T.self, field: path(key))
    }

    public func signed<T: FixedWidthInteger & SignedInteger>(_ key: String, _: T.Type = T.self) throws(WireError) -> T {
        try self[key].signed(T.self, field: path(key))
    }

    public func bool(_ key: String) throws(WireError) -> Bool { try self[key].bool(field: path(key)) }
    public func float64(_ key: String) throws(WireError) -> Double { try self[key].float64(field: path(key)) }
    public func string(_ key: String) throws(WireError) -> String { try self[key].string(field: path(key)) }
    public func bytes(_ key: String) throws(WireError) -> [UInt8] { try self[key].bytes(field: path(key)) }
    public func bytesOrNil(_ key: String) throws(WireError) -> [UInt8]? {
        try self[key].bytesOrNil(field: path(key))
    }

    /// The error path of a field: `"Ping.SeqNo"`.
    public func path(_ key: String) -> String { "\(typeName).\(key)" }
}

/// A Go struct that travels as a msgpack map.
///
/// `encode(to:)` must write every field in byte-wise sorted key order, as go-msgpack does (codec/
/// helper.go sorts the struct field info; encode.go `kStruct` walks it), skipping only the fields
/// tagged `omitempty` when they are empty.
public protocol MsgpackStruct: Hashable, Sendable {
    func encode(to writer: inout MsgpackWriter)
    init(msgpack value: MsgpackValue) throws(WireError)
}

extension MsgpackStruct {
    /// The struct's msgpack encoding.
    public func msgpackEncoded() -> [UInt8] {
        var writer = MsgpackWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes the first msgpack value of `bytes`; trailing bytes are ignored, as memberlist's
    /// `decode` (one `Decoder.Decode` call over the buffer) ignores them.
    public init(msgpackBytes bytes: [UInt8], limits: DecodeLimits = .defaults) throws(WireError) {
        var reader = MsgpackReader(bytes, limits: limits)
        try self.init(msgpack: try reader.readValue())
    }
}
