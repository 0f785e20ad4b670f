public import LeveePolicy

extension MembershipInstance {
    /// memberlist `Leave`: gossip `dead{own incarnation, self, From = self}` and report
    /// `leaveCompleted` once it has been sent its full number of times, after `leaveTimeout`, or at
    /// once when no other member is alive. Probing and periodic push/pull stop; pings are still
    /// answered, also after `leaveCompleted`, until the shell stops feeding the instance.
    public mutating func leave(now: Instant) -> [MembershipDirective] {
        guard !hasLeft, leaveDeadline == nil else { return [] }
        leaveDeadline = now + settings.leaveTimeout
        probe = nil
        applyDead(Dead(incarnation: incarnation, node: localName, from: localName), now: now)
        let anyoneAlive = nodes.values.contains { $0.name != localName && $0.state == .alive }
        if !anyoneAlive { completeLeave(broadcastSent: false) }
        return drain(now: now)
    }

    /// Leave is done when our `dead` left the queue (retired after its transmits: memberlist's
    /// `Finished` notification) or the timeout passed.
    mutating func checkLeave(now: Instant) {
        guard let deadline = leaveDeadline, !hasLeft else { return }
        if !broadcasts.contains(name: localName) {
            completeLeave(broadcastSent: true)
        } else if now >= deadline {
            completeLeave(broadcastSent: false)
        }
    }

    private mutating func completeLeave(broadcastSent: Bool) {
        hasLeft = true
        leaveDeadline = nil
        outbox.append(.leaveCompleted(broadcastSent: broadcastSent))
    }

    /// memberlist `UpdateNode`: new metadata (for Serf, new tags) announced by an `alive` at the next
    /// incarnation.
    public mutating func updateMeta(_ meta: [UInt8], now: Instant) throws(ConfigurationError) -> [MembershipDirective] {
        try Self.checkMeta(meta)
        guard !hasLeft, leaveDeadline == nil, var me = nodes[localName] else { return [] }
        me.incarnation = me.incarnation == .max ? .max : me.incarnation + 1
        me.meta = meta
        nodes[localName] = me
        queueBroadcast(.alive(me.alive), about: localName)
        outbox.append(.memberEvent(.updated(me)))
        return drain(now: now)
    }
}
