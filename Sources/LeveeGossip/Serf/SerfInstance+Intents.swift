public import LeveePolicy

extension SerfInstance {
    /// Announces the local node with a join intent stamped `memberClock.time` (serf serf.go
    /// `broadcastJoin`, called by `Join` once memberlist joined and to refute a leave intent).
    public mutating func join(now: Instant) -> [SerfDirective] {
        broadcastJoin(now: now)
    }

    /// Starts the graceful leave (serf serf.go `Leave`, memberlist-serf-wire.md §4.4 step 1): a leave
    /// intent stamped `memberClock.time`, after which the clock increments; applied locally, and
    /// broadcast only if another member is alive.
    ///
    /// The shell then waits for the broadcast to go out (`BroadcastTimeout`, 5 s), has memberlist
    /// leave, keeps serving for `LeavePropagateDelay` and calls `didLeave()`. A second call while
    /// leaving or after leaving returns no directives (serf returns an error while leaving).
    public mutating func leave(now: Instant) -> [SerfDirective] {
        guard state == .alive else { return [] }
        state = .leaving
        let intent = LeaveIntent(lTime: memberClock.time, node: configuration.nodeName)
        memberClock.increment()
        var directives: [SerfDirective] = []
        _ = handleLeaveIntent(intent, now: now, into: &directives)
        if hasAliveMembers {
            directives.append(.broadcast(SerfMessage.leave(intent).encoded(), queue: .intents))
        }
        return directives
    }

    /// The shell finished the leave sequence (serf serf.go `Leave`: `state = SerfLeft`).
    public mutating func didLeave() {
        state = .left
    }

    mutating func broadcastJoin(now: Instant) -> [SerfDirective] {
        let intent = JoinIntent(lTime: memberClock.time, node: configuration.nodeName)
        memberClock.witness(intent.lTime)
        _ = handleJoinIntent(intent, now: now)
        return [.broadcast(SerfMessage.join(intent).encoded(), queue: .intents)]
    }

    /// serf serf.go `handleNodeJoinIntent`; returns whether to rebroadcast. An intent about an unknown
    /// member is buffered, and rebroadcast only if it is newer than the buffered one.
    mutating func handleJoinIntent(_ intent: JoinIntent, now: Instant) -> Bool {
        memberClock.witness(intent.lTime)
        guard var record = records[intent.node] else {
            return bufferIntent(node: intent.node, isJoin: true, lTime: intent.lTime, now: now)
        }
        guard intent.lTime > record.statusLTime else { return false }
        record.statusLTime = intent.lTime
        // A leave intent older than this join was superseded.
        if record.member.status == .leaving { record.member.status = .alive }
        records[intent.node] = record
        return true
    }

    /// serf serf.go `handleNodeLeaveIntent`; returns whether to rebroadcast.
    ///
    /// A newer leave intent about the local node while it is alive is refuted with a fresh join intent
    /// and not rebroadcast. Otherwise `statusLTime` advances even when the status stays, so that two
    /// leave intents about one member cannot rebroadcast each other forever (hashicorp/consul#8179).
    mutating func handleLeaveIntent(
        _ intent: LeaveIntent,
        now: Instant,
        into directives: inout [SerfDirective]
    ) -> Bool {
        memberClock.witness(intent.lTime)
        guard var record = records[intent.node] else {
            return bufferIntent(node: intent.node, isJoin: false, lTime: intent.lTime, now: now)
        }
        guard intent.lTime > record.statusLTime else { return false }
        if intent.node == configuration.nodeName && state == .alive {
            directives += broadcastJoin(now: now)
            return false
        }
        record.statusLTime = intent.lTime
        let old = record.member.status
        switch old {
        case .alive:
            record.member.status = .leaving
        case .failed:
            // A forced leave: the failed member becomes a tombstone (serf `EventMemberLeave (forced)`).
            record.member.status = .left
        case .leaving, .left:
            break
        case .none:
            return false
        }
        records[intent.node] = record
        if old != record.member.status {
            directives.append(.memberStatusChanged(record.member, from: old, to: record.member.status))
        }
        // `Prune` (erase at once) is not implemented: the tombstone is reaped after `tombstoneTimeout`.
        return true
    }

    /// serf serf.go `upsertIntent`: keep the newest intent per unknown node.
    mutating func bufferIntent(node: String, isJoin: Bool, lTime: LamportTime, now: Instant) -> Bool {
        if let existing = recentIntents[node], lTime <= existing.lTime { return false }
        recentIntents[node] = RecentIntent(isJoin: isJoin, lTime: lTime, received: now)
        return true
    }
}
