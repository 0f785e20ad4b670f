/// An answer to a query, or its ack when `flags` has `Query.ackFlag` (serf messages.go
/// `messageQueryResponse`). Sent by UDP user message to the query's `Addr:Port`.
public struct QueryResponse: MsgpackStruct {
    public var lTime: LamportTime
    public var id: UInt32
    public var from: String
    public var flags: UInt32
    public var payload: [UInt8]?

    public init(lTime: LamportTime, id: UInt32, from: String, flags: UInt32, payload: [UInt8]?) {
        self.lTime = lTime
        self.id = id
        self.from = from
        self.flags = flags
        self.payload = payload
    }

    public var isAck: Bool { flags & Query.ackFlag != 0 }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(5)
        writer.writeString("Flags")
        writer.writeUnsigned(UInt64(flags))
        writer.writeString("From")
        writer.writeString(from)
        writer.writeString("ID")
        writer.writeUnsigned(UInt64(id))
        writer.writeString("LTime")
        writer.writeUnsigned(lTime.rawValue)
        writer.writeString("Payload")
        writer.writeRawOrNil(payload)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "QueryResponse")
        lTime = LamportTime(try fields.unsigned("LTime"))
        id = try fields.unsigned("ID")
        from = try fields.string("From")
        flags = try fields.unsigned("Flags")
        payload = try fields.bytesOrNil("Payload")
    }
}
