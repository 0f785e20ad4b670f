public import LeveePolicy

extension SerfInstance {
    /// Sends a user event (serf serf.go `UserEvent`): stamped `eventClock.time`, after which the clock
    /// increments; applied locally (so the application receives its own event, as in serf) and
    /// broadcast.
    ///
    /// Refused with `.userEventTooLarge` when `name + payload` or the encoding exceeds
    /// `userEventSizeLimit` or the 9 KiB hard cap, or when the message does not fit a gossip packet
    /// (`maxBroadcastBytes`, which serf does not check: memberlist would never send it).
    /// `coalesce` is serf's `CC`: `false` asks agents to deliver at once (memberlist-serf-wire.md §4.5).
    public mutating func sendUserEvent(
        name: String,
        payload: [UInt8],
        coalesce: Bool = false,
        now: Instant
    ) throws(SerfError) -> [SerfDirective] {
        guard state == .alive else { throw SerfError(.notAlive, "cannot send a user event while \(state)") }
        let limit = min(configuration.userEventSizeLimit, SerfConfiguration.userEventHardLimit)
        let rawSize = name.utf8.count + payload.count
        guard rawSize <= limit else {
            throw SerfError(.userEventTooLarge, "name and payload take \(rawSize) bytes, the limit is \(limit)")
        }
        let event = UserEvent(lTime: eventClock.time, name: name, payload: payload, canCoalesce: coalesce)
        let raw = SerfMessage.userEvent(event).encoded()
        guard raw.count <= limit else {
            throw SerfError(.userEventTooLarge, "the encoded event takes \(raw.count) bytes, the limit is \(limit)")
        }
        guard 1 + raw.count <= configuration.maxBroadcastBytes else {
            throw SerfError(
                .userEventTooLarge,
                "the encoded event takes \(1 + raw.count) bytes of a gossip packet, at most "
                    + "\(configuration.maxBroadcastBytes) fit"
            )
        }
        eventClock.increment()
        var directives: [SerfDirective] = []
        _ = handleUserEvent(event, into: &directives)
        directives.append(.broadcast(raw, queue: .events))
        return directives
    }

    /// serf serf.go `handleUserEvent`; returns whether to rebroadcast. Drops events before
    /// `eventMinTime` or more than the ring's size behind the clock, and events already in the ring
    /// (same LTime, name and payload); delivers the rest.
    mutating func handleUserEvent(_ event: UserEvent, into directives: inout [SerfDirective]) -> Bool {
        eventClock.witness(event.lTime)
        guard event.lTime >= eventMinTime else {
            counters.staleEvents += 1
            return false
        }
        if event.lTime.isBehindWindow(of: eventClock.time, window: eventBuffer.count) {
            counters.staleEvents += 1
            return false
        }
        let slot = Int(event.lTime.rawValue % UInt64(eventBuffer.count))
        let entry = UserEventCollection.Entry(name: event.name, payload: event.payload)
        var seen = UserEventCollection(lTime: event.lTime, events: [])
        if let existing = eventBuffer[slot], existing.lTime == event.lTime {
            // Go compares payloads with bytes.Equal: nil and empty are the same event.
            let isDuplicate = (existing.events ?? []).contains {
                $0.name == entry.name && ($0.payload ?? []) == (entry.payload ?? [])
            }
            if isDuplicate {
                counters.duplicateEvents += 1
                return false
            }
            seen = existing
        }
        seen.events = (seen.events ?? []) + [entry]
        eventBuffer[slot] = seen
        directives.append(.deliverEvent(event))
        return true
    }
}
