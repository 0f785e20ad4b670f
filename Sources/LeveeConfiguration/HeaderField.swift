/// One header of a static fallback answer (`fallback.static.headers`), in the order the file lists them.
public struct HeaderField: Sendable, Hashable {
    /// The field name, as written (HTTP field names are case-insensitive; RFC 9110 §5.1).
    public var name: String
    /// The field value.
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
