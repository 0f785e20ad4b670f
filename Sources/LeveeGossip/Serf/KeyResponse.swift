/// One node's answer to a key query (serf internal_query.go `nodeKeyResponse`), sent as `[8][msgpack]`.
public struct KeyResponse: MsgpackStruct {
    public var result: Bool
    public var message: String
    /// Base64 keys, for `_serf_list-keys`.
    public var keys: [String]?
    public var primaryKey: String

    public init(result: Bool, message: String, keys: [String]?, primaryKey: String) {
        self.result = result
        self.message = message
        self.keys = keys
        self.primaryKey = primaryKey
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(4)
        writer.writeString("Keys")
        if let keys {
            writer.writeArrayHeader(keys.count)
            for key in keys { writer.writeString(key) }
        } else {
            writer.writeNil()
        }
        writer.writeString("Message")
        writer.writeString(message)
        writer.writeString("PrimaryKey")
        writer.writeString(primaryKey)
        writer.writeString("Result")
        writer.writeBool(result)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "KeyResponse")
        result = try fields.bool("Result")
        message = try fields.string("Message")
        primaryKey = try fields.string("PrimaryKey")
        if let elements = try fields["Keys"].arrayOrNil(field: fields.path("Keys")) {
            var keys: [String] = []
            for element in elements { keys.append(try element.string(field: fields.path("Keys"))) }
            self.keys = keys
        } else {
            keys = nil
        }
    }
}
