/// A Serf user event (serf messages.go `messageUserEvent`).
///
/// `canCoalesce` (`CC`) lets the agent merge events of the same name within its coalesce period;
/// send `false` for immediate delivery (memberlist-serf-wire.md §4.5).
public struct UserEvent: MsgpackStruct {
    public var lTime: LamportTime
    public var name: String
    public var payload: [UInt8]?
    public var canCoalesce: Bool

    public init(lTime: LamportTime, name: String, payload: [UInt8]?, canCoalesce: Bool = false) {
        self.lTime = lTime
        self.name = name
        self.payload = payload
        self.canCoalesce = canCoalesce
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(4)
        writer.writeString("CC")
        writer.writeBool(canCoalesce)
        writer.writeString("LTime")
        writer.writeUnsigned(lTime.rawValue)
        writer.writeString("Name")
        writer.writeString(name)
        writer.writeString("Payload")
        writer.writeRawOrNil(payload)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "UserEvent")
        lTime = LamportTime(try fields.unsigned("LTime"))
        name = try fields.string("Name")
        payload = try fields.bytesOrNil("Payload")
        canCoalesce = try fields.bool("CC")
    }
}
