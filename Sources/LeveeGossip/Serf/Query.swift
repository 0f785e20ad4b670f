/// A Serf query (serf messages.go `messageQuery`).
///
/// Receivers ack to `addr:port` by UDP user message when `flags` has `ackFlag`, and do not
/// rebroadcast when it has `noBroadcastFlag` (serf.go `handleQuery`). `timeout` is a Go
/// `time.Duration`: int64 nanoseconds.
public struct Query: MsgpackStruct {
    /// serf messages.go `queryFlagAck`.
    public static let ackFlag: UInt32 = 1
    /// serf messages.go `queryFlagNoBroadcast`.
    public static let noBroadcastFlag: UInt32 = 2

    public var lTime: LamportTime
    public var id: UInt32
    public var addr: [UInt8]
    public var port: UInt16
    public var sourceNode: String
    /// Each `[filter type u8][msgpack]`: 0 a node list, 1 a tag regexp (see `QueryFilter`).
    public var filters: [[UInt8]]?
    public var flags: UInt32
    public var relayFactor: UInt8
    public var timeout: Duration
    public var name: String
    public var payload: [UInt8]?

    public init(
        lTime: LamportTime,
        id: UInt32,
        addr: [UInt8],
        port: UInt16,
        sourceNode: String,
        filters: [[UInt8]]? = nil,
        flags: UInt32,
        relayFactor: UInt8 = 0,
        timeout: Duration,
        name: String,
        payload: [UInt8]?
    ) {
        self.lTime = lTime
        self.id = id
        self.addr = addr
        self.port = port
        self.sourceNode = sourceNode
        self.filters = filters
        self.flags = flags
        self.relayFactor = relayFactor
        self.timeout = timeout
        self.name = name
        self.payload = payload
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(11)
        writer.writeString("Addr")
        writer.writeRaw(addr)
        writer.writeString("Filters")
        if let filters {
            writer.writeArrayHeader(filters.count)
            for filter in filters { writer.writeRaw(filter) }
        } else {
            writer.writeNil()
        }
        writer.writeString("Flags")
        writer.writeUnsigned(UInt64(flags))
        writer.writeString("ID")
        writer.writeUnsigned(UInt64(id))
        writer.writeString("LTime")
        writer.writeUnsigned(lTime.rawValue)
        writer.writeString("Name")
        writer.writeString(name)
        writer.writeString("Payload")
        writer.writeRawOrNil(payload)
        writer.writeString("Port")
        writer.writeUnsigned(UInt64(port))
        writer.writeString("RelayFactor")
        writer.writeUnsigned(UInt64(relayFactor))
        writer.writeString("SourceNode")
        writer.writeString(sourceNode)
        writer.writeString("Timeout")
        writer.writeSigned(Self.nanoseconds(timeout))
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "Query")
        lTime = LamportTime(try fields.unsigned("LTime"))
        id = try fields.unsigned("ID")
        addr = try fields.bytes("Addr")
        port = try fields.unsigned("Port")
        sourceNode = try fields.string("SourceNode")
        if let elements = try fields["Filters"].arrayOrNil(field: fields.path("Filters")) {
            var filters: [[UInt8]] = []
            for element in elements { filters.append(try element.bytes(field: fields.path("Filters"))) }
            self.filters = filters
        } else {
            filters = nil
        }
        flags = try fields.unsigned("Flags")
        relayFactor = try fields.unsigned("RelayFactor")
        timeout = .nanoseconds(try fields.signed("Timeout", Int64.self))
        name = try fields.string("Name")
        payload = try fields.bytesOrNil("Payload")
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (sum, overflowSum) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowSum ? (seconds < 0 ? .min : .max) : sum
    }
}
