/// Serf's push/pull user state (serf messages.go `messagePushPull`), sent as `[2][msgpack]` in the
/// memberlist push/pull `userState`.
///
/// `events` is Go's whole 512-slot ring, nil slots included (`c0`); an empty array is accepted too.
/// `statusLTimes` is a Go map, which Go writes in random order; we write it sorted by name.
public struct SerfPushPull: MsgpackStruct {
    public var lTime: LamportTime
    public var statusLTimes: [String: LamportTime]
    public var leftMembers: [String]
    public var eventLTime: LamportTime
    public var events: [UserEventCollection?]
    public var queryLTime: LamportTime

    public init(
        lTime: LamportTime,
        statusLTimes: [String: LamportTime],
        leftMembers: [String],
        eventLTime: LamportTime,
        events: [UserEventCollection?],
        queryLTime: LamportTime
    ) {
        self.lTime = lTime
        self.statusLTimes = statusLTimes
        self.leftMembers = leftMembers
        self.eventLTime = eventLTime
        self.events = events
        self.queryLTime = queryLTime
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(6)
        writer.writeString("EventLTime")
        writer.writeUnsigned(eventLTime.rawValue)
        writer.writeString("Events")
        writer.writeArrayHeader(events.count)
        for slot in events {
            if let slot { slot.encode(to: &writer) } else { writer.writeNil() }
        }
        writer.writeString("LTime")
        writer.writeUnsigned(lTime.rawValue)
        writer.writeString("LeftMembers")
        writer.writeArrayHeader(leftMembers.count)
        for member in leftMembers { writer.writeString(member) }
        writer.writeString("QueryLTime")
        writer.writeUnsigned(queryLTime.rawValue)
        writer.writeString("StatusLTimes")
        writer.writeMapHeader(statusLTimes.count)
        for (name, time) in statusLTimes.sorted(by: { $0.key < $1.key }) {
            writer.writeString(name)
            writer.writeUnsigned(time.rawValue)
        }
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "SerfPushPull")
        lTime = LamportTime(try fields.unsigned("LTime"))
        eventLTime = LamportTime(try fields.unsigned("EventLTime"))
        queryLTime = LamportTime(try fields.unsigned("QueryLTime"))
        var statusLTimes: [String: LamportTime] = [:]
        for (name, time) in try fields["StatusLTimes"].stringKeyedMap(field: fields.path("StatusLTimes")) {
            statusLTimes[name] = LamportTime(try time.unsigned(field: fields.path("StatusLTimes")))
        }
        self.statusLTimes = statusLTimes
        var leftMembers: [String] = []
        for member in try fields["LeftMembers"].arrayOrNil(field: fields.path("LeftMembers")) ?? [] {
            leftMembers.append(try member.string(field: fields.path("LeftMembers")))
        }
        self.leftMembers = leftMembers
        var events: [UserEventCollection?] = []
        for slot in try fields["Events"].arrayOrNil(field: fields.path("Events")) ?? [] {
            events.append(slot == .nil ? nil : try UserEventCollection(msgpack: slot))
        }
        self.events = events
    }
}
