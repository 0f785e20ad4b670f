/// A node's view of a conflicting member, the `_serf_conflict` response payload `[6][Member]`
/// (serf serf.go `Member`; `Tags` is a Go map, written here sorted).
public struct ConflictMember: MsgpackStruct {
    public var name: String
    public var addr: [UInt8]
    public var port: UInt16
    public var tags: [String: String]
    /// serf `MemberStatus`: 0 none, 1 alive, 2 leaving, 3 left, 4 failed.
    public var status: Int
    public var versions: ProtocolVersions

    public init(
        name: String,
        addr: [UInt8],
        port: UInt16,
        tags: [String: String],
        status: Int,
        versions: ProtocolVersions
    ) {
        self.name = name
        self.addr = addr
        self.port = port
        self.tags = tags
        self.status = status
        self.versions = versions
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(11)
        writer.writeString("Addr")
        writer.writeRaw(addr)
        writer.writeString("DelegateCur")
        writer.writeUnsigned(UInt64(versions.delegateCur))
        writer.writeString("DelegateMax")
        writer.writeUnsigned(UInt64(versions.delegateMax))
        writer.writeString("DelegateMin")
        writer.writeUnsigned(UInt64(versions.delegateMin))
        writer.writeString("Name")
        writer.writeString(name)
        writer.writeString("Port")
        writer.writeUnsigned(UInt64(port))
        writer.writeString("ProtocolCur")
        writer.writeUnsigned(UInt64(versions.protocolCur))
        writer.writeString("ProtocolMax")
        writer.writeUnsigned(UInt64(versions.protocolMax))
        writer.writeString("ProtocolMin")
        writer.writeUnsigned(UInt64(versions.protocolMin))
        writer.writeString("Status")
        writer.writeSigned(Int64(status))
        writer.writeString("Tags")
        writer.writeMapHeader(tags.count)
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            writer.writeString(key)
            writer.writeString(value)
        }
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "ConflictMember")
        name = try fields.string("Name")
        addr = try fields.bytes("Addr")
        port = try fields.unsigned("Port")
        status = try fields.signed("Status")
        var tags: [String: String] = [:]
        for (key, value) in try fields["Tags"].stringKeyedMap(field: fields.path("Tags")) {
            tags[key] = try value.string(field: fields.path("Tags"))
        }
        self.tags = tags
        versions = ProtocolVersions(
            protocolMin: try fields.unsigned("ProtocolMin"),
            protocolMax: try fields.unsigned("ProtocolMax"),
            protocolCur: try fields.unsigned("ProtocolCur"),
            delegateMin: try fields.unsigned("DelegateMin"),
            delegateMax: try fields.unsigned("DelegateMax"),
            delegateCur: try fields.unsigned("DelegateCur")
        )
    }
}
