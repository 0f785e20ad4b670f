/// The answer to a ping (memberlist net.go `ackResp`), matched by `SeqNo` alone.
///
/// Serf puts `[0x01][msgpack Coordinate]` in `Payload` and ignores an empty one, so a member that
/// has no coordinates replies with `Payload: nil`, which Go writes as `c0`.
public struct Ack: MsgpackStruct {
    public var seqNo: UInt32
    public var payload: [UInt8]?

    public init(seqNo: UInt32, payload: [UInt8]? = nil) {
        self.seqNo = seqNo
        self.payload = payload
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(2)
        writer.writeString("Payload")
        writer.writeRawOrNil(payload)
        writer.writeString("SeqNo")
        writer.writeUnsigned(UInt64(seqNo))
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "Ack")
        seqNo = try fields.unsigned("SeqNo")
        payload = try fields.bytesOrNil("Payload")
    }
}
