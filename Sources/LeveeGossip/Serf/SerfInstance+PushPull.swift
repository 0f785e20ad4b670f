public import LeveePolicy

extension SerfInstance {
    /// memberlist `Delegate.LocalState` (serf delegate.go `LocalState`): `[2][messagePushPull]` with
    /// the three clocks, every member's status LTime, the left members' names and the whole event
    /// ring, empty slots as nil, as Go sends it.
    public func localState(join: Bool) -> [UInt8] {
        let state = SerfPushPull(
            lTime: memberClock.time,
            statusLTimes: records.mapValues(\.statusLTime),
            leftMembers: records.values.filter { $0.member.status == .left }.map(\.member.name).sorted(),
            eventLTime: eventClock.time,
            events: eventBuffer,
            queryLTime: queryClock.time
        )
        return SerfMessage.pushPull(state).encoded()
    }

    /// memberlist `Delegate.MergeRemoteState` (serf delegate.go `MergeRemoteState`).
    ///
    /// Witnesses each remote clock minus one (so the next local stamp still exceeds it); applies each
    /// left member as a leave intent at its status LTime + 1, every other status LTime as a join intent,
    /// and replays the remote event ring. Nothing learnt here is rebroadcast: only a refutation of a
    /// leave intent about us produces a broadcast. On a join with `ignoreEventsBeforeJoin`, events
    /// before the remote event clock are dropped.
    public mutating func mergeRemoteState(_ bytes: [UInt8], isJoin: Bool, now: Instant) -> [SerfDirective] {
        guard bytes.first == SerfMessageType.pushPull.rawValue,
            case .pushPull(let remote)? = try? SerfMessage(bytes)
        else {
            counters.malformedMessages += 1
            return []
        }
        if remote.lTime.rawValue > 0 { memberClock.witness(LamportTime(remote.lTime.rawValue - 1)) }
        if remote.eventLTime.rawValue > 0 { eventClock.witness(LamportTime(remote.eventLTime.rawValue - 1)) }
        if remote.queryLTime.rawValue > 0 { queryClock.witness(LamportTime(remote.queryLTime.rawValue - 1)) }

        var directives: [SerfDirective] = []
        let left = Set(remote.leftMembers)
        for name in remote.leftMembers {
            let status = remote.statusLTimes[name]?.rawValue ?? 0
            let intent = LeaveIntent(lTime: LamportTime(status &+ 1), node: name)
            _ = handleLeaveIntent(intent, now: now, into: &directives)
        }
        // Sorted so the outcome does not depend on dictionary order; Go's map order is random.
        for (name, lTime) in remote.statusLTimes.sorted(by: { $0.key < $1.key }) where !left.contains(name) {
            _ = handleJoinIntent(JoinIntent(lTime: lTime, node: name), now: now)
        }
        if isJoin && configuration.ignoreEventsBeforeJoin && remote.eventLTime > eventMinTime {
            eventMinTime = remote.eventLTime
        }
        for case let collection? in remote.events {
            for entry in collection.events ?? [] {
                let event = UserEvent(lTime: collection.lTime, name: entry.name, payload: entry.payload)
                _ = handleUserEvent(event, into: &directives)
            }
        }
        return directives
    }
}
