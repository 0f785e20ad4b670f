/// Serf tags packed into memberlist's node `Meta` (serf serf.go `encodeTags`, `decodeTags`).
///
/// From serf protocol 3 on, `Meta = 0xFF ‖ msgpack(map[string]string)`: no tags is `ff 80`. A Meta
/// without the 0xFF prefix is an old node's role string and reads as `["role": meta]`. Meta must fit
/// memberlist's 512 bytes.
public enum Tags {
    /// serf serf.go `tagMagicByte`.
    public static let magicByte: UInt8 = 0xff

    /// The Meta bytes for `tags`, keys sorted (Go's map order is random; any order decodes).
    public static func encode(_ tags: [String: String]) throws(WireError) -> [UInt8] {
        var writer = MsgpackWriter()
        writer.writeEncoded(CollectionOfOne(magicByte))
        writer.writeMapHeader(tags.count)
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            writer.writeString(key)
            writer.writeString(value)
        }
        guard writer.bytes.count <= Alive.maxMetaBytes else {
            throw WireError(
                .limitExceeded,
                field: "Alive.Meta",
                "encoded tags take \(writer.bytes.count) bytes, at most 512"
            )
        }
        return writer.bytes
    }

    public static func decode(_ meta: [UInt8]) throws(WireError) -> [String: String] {
        guard meta.first == magicByte else {
            return meta.isEmpty ? [:] : ["role": String(decoding: meta, as: UTF8.self)]
        }
        var reader = MsgpackReader(meta, offset: 1)
        var tags: [String: String] = [:]
        for (key, value) in try reader.readValue().stringKeyedMap(field: "Tags") {
            tags[key] = try value.string(field: "Tags.\(key)")
        }
        return tags
    }
}
