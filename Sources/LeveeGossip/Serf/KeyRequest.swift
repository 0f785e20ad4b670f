/// The payload of the `_serf_install-key`, `_serf_use-key` and `_serf_remove-key` queries
/// (serf keymanager.go `keyRequest`), sent as `[7][msgpack]`.
public struct KeyRequest: MsgpackStruct {
    public var key: [UInt8]?

    public init(key: [UInt8]?) {
        self.key = key
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(1)
        writer.writeString("Key")
        writer.writeRawOrNil(key)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "KeyRequest")
        key = try fields.bytesOrNil("Key")
    }
}
