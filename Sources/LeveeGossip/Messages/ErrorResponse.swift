/// The reply to a stream the receiver could not read or decrypt (memberlist net.go `errResp`).
public struct ErrorResponse: MsgpackStruct {
    public var error: String

    public init(error: String) {
        self.error = error
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(1)
        writer.writeString("Error")
        writer.writeString(error)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "ErrorResponse")
        error = try fields.string("Error")
    }
}
