/// One query filter, `[filter type u8][msgpack]` (serf messages.go `filterType`, `filterNode`,
/// `filterTag`). A node processes a query only if it satisfies every filter.
public enum QueryFilter: Hashable, Sendable {
    /// Type 0: the node's name must be in the list.
    case nodes([String])
    /// Type 1: the node's tag `name` must match the regular expression (unanchored, as Go's
    /// `regexp.MatchString`); a missing tag is matched as the empty string.
    case tag(String, expression: String)

    public static let nodesType: UInt8 = 0
    public static let tagType: UInt8 = 1

    public func encoded() -> [UInt8] {
        var writer = MsgpackWriter()
        switch self {
        case .nodes(let names):
            writer.writeEncoded(CollectionOfOne(Self.nodesType))
            writer.writeArrayHeader(names.count)
            for name in names { writer.writeString(name) }
        case .tag(let name, let expression):
            writer.writeEncoded(CollectionOfOne(Self.tagType))
            writer.writeMapHeader(2)
            writer.writeString("Expr")
            writer.writeString(expression)
            writer.writeString("Tag")
            writer.writeString(name)
        }
        return writer.bytes
    }

    /// Decodes one filter; an unknown type is `.unsupportedMessageType`, which makes serf skip the query
    /// (serf query.go `shouldProcessQuery`).
    public init(_ bytes: [UInt8], limits: DecodeLimits = .defaults) throws(WireError) {
        guard let type = bytes.first else {
            throw WireError(.truncated, field: "QueryFilter", "missing filter type byte")
        }
        var reader = MsgpackReader(bytes, offset: 1, limits: limits)
        switch type {
        case Self.nodesType:
            var names: [String] = []
            for element in try reader.readValue().arrayOrNil(field: "QueryFilter.nodes") ?? [] {
                names.append(try element.string(field: "QueryFilter.nodes"))
            }
            self = .nodes(names)
        case Self.tagType:
            let fields = try MsgpackFields(try reader.readValue(), typeName: "QueryFilter.tag")
            self = .tag(try fields.string("Tag"), expression: try fields.string("Expr"))
        default:
            throw WireError(.unsupportedMessageType, field: "QueryFilter", "unknown filter type \(type)")
        }
    }

    /// Whether a node named `nodeName` with `tags` passes this filter. A tag expression that does not
    /// compile fails the filter, as in serf. Go's RE2 syntax and Swift's `Regex` agree on the
    /// expressions tags use (literals, classes, anchors, alternation, repetition); RE2-only syntax
    /// fails to compile and so excludes the node.
    public func admits(nodeName: String, tags: [String: String]) -> Bool {
        switch self {
        case .nodes(let names):
            return names.contains(nodeName)
        case .tag(let name, let expression):
            guard let regex = try? Regex(expression) else { return false }
            return (tags[name] ?? "").contains(regex)
        }
    }
}
