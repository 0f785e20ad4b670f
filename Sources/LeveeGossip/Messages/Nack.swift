/// A relay's report that the target of an indirect ping did not answer (memberlist net.go `nackResp`).
public struct Nack: MsgpackStruct {
    public var seqNo: UInt32

    public init(seqNo: UInt32) {
        self.seqNo = seqNo
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(1)
        writer.writeString("SeqNo")
        writer.writeUnsigned(UInt64(seqNo))
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "Nack")
        seqNo = try fields.unsigned("SeqNo")
    }
}
