/// The header of a reliable (TCP) user message: the length of the raw bytes that follow
/// (memberlist net.go `userMsgHeader`).
public struct UserMessageHeader: MsgpackStruct {
    public var userMsgLen: Int

    public init(userMsgLen: Int) {
        self.userMsgLen = userMsgLen
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(1)
        writer.writeString("UserMsgLen")
        writer.writeSigned(Int64(userMsgLen))
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "UserMessageHeader")
        userMsgLen = try fields.signed("UserMsgLen")
    }
}
