/// The header of a relayed query response (serf messages.go `relayHeader`): the receiver forwards
/// the bytes after it, by UDP user message, to `destAddr`.
///
/// `DestAddr` is a Go `net.UDPAddr`, a struct `{IP, Port int, Zone}`.
public struct RelayHeader: MsgpackStruct {
    public var destIP: [UInt8]
    public var destPort: Int
    public var destZone: String
    public var destName: String

    public init(destIP: [UInt8], destPort: Int, destZone: String = "", destName: String) {
        self.destIP = destIP
        self.destPort = destPort
        self.destZone = destZone
        self.destName = destName
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(2)
        writer.writeString("DestAddr")
        writer.writeMapHeader(3)
        writer.writeString("IP")
        writer.writeRaw(destIP)
        writer.writeString("Port")
        writer.writeSigned(Int64(destPort))
        writer.writeString("Zone")
        writer.writeString(destZone)
        writer.writeString("DestName")
        writer.writeString(destName)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "RelayHeader")
        let address = try MsgpackFields(fields["DestAddr"], typeName: "RelayHeader.DestAddr")
        destIP = try address.bytes("IP")
        destPort = try address.signed("Port")
        destZone = try address.string("Zone")
        destName = try fields.string("DestName")
    }
}
