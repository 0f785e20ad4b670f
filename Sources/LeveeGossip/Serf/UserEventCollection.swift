/// The events Serf remembers for one Lamport time, as carried in push/pull (serf serf.go
/// `userEvents` and `userEvent`).
public struct UserEventCollection: MsgpackStruct {
    /// One remembered event: only its name and payload.
    public struct Entry: Hashable, Sendable {
        public var name: String
        public var payload: [UInt8]?

        public init(name: String, payload: [UInt8]?) {
            self.name = name
            self.payload = payload
        }
    }

    public var lTime: LamportTime
    public var events: [Entry]?

    public init(lTime: LamportTime, events: [Entry]?) {
        self.lTime = lTime
        self.events = events
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(2)
        writer.writeString("Events")
        if let events {
            writer.writeArrayHeader(events.count)
            for event in events {
                writer.writeMapHeader(2)
                writer.writeString("Name")
                writer.writeString(event.name)
                writer.writeString("Payload")
                writer.writeRawOrNil(event.payload)
            }
        } else {
            writer.writeNil()
        }
        writer.writeString("LTime")
        writer.writeUnsigned(lTime.rawValue)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "UserEventCollection")
        lTime = LamportTime(try fields.unsigned("LTime"))
        if let elements = try fields["Events"].arrayOrNil(field: fields.path("Events")) {
            var events: [Entry] = []
            for element in elements {
                let entry = try MsgpackFields(element, typeName: "UserEvent")
                events.append(Entry(name: try entry.string("Name"), payload: try entry.bytesOrNil("Payload")))
            }
            self.events = events
        } else {
            events = nil
        }
    }
}
