public import LeveePolicy

extension SerfInstance {
    /// The periodic work of serf serf.go `handleReap` and `handleReconnect`, plus expiry of query
    /// state, driven by the shell's timer (every second is plenty).
    ///
    /// - Reaps failed members after `reconnectTimeout` and left members after `tombstoneTimeout`, and
    ///   forgets buffered intents after `recentIntentTimeout`. Serf checks every `ReapInterval` (15 s);
    ///   here every tick, against the same timeouts.
    /// - Every `reconnectInterval`, with probability #failed / #alive, asks to join one random failed
    ///   member (serf serf.go `reconnect`).
    /// - Ends queries this node sent whose deadline passed (`.queryFinished`), and forgets
    ///   unanswered delivered queries past their deadline.
    public mutating func onTick(now: Instant, using rng: inout some RandomNumberGenerator) -> [SerfDirective] {
        var directives: [SerfDirective] = []
        for record in records.values.sorted(by: { $0.member.name < $1.member.name }) {
            guard let leaveTime = record.leaveTime else { continue }
            let timeout: Duration
            switch record.member.status {
            case .failed: timeout = configuration.reconnectTimeout
            case .left: timeout = configuration.tombstoneTimeout
            case .none, .alive, .leaving: continue
            }
            if now - leaveTime > timeout {
                records[record.member.name] = nil
                directives.append(.memberReaped(record.member))
            }
        }
        recentIntents = recentIntents.filter { now - $0.value.received <= configuration.recentIntentTimeout }
        answerableQueries = answerableQueries.filter { now <= $0.value.deadline }
        for (lTime, outgoing) in outgoingQueries.sorted(by: { $0.key < $1.key }) where now > outgoing.ticket.deadline {
            outgoingQueries[lTime] = nil
            directives.append(.queryFinished(outgoing.ticket))
        }

        guard let due = nextReconnect else {
            nextReconnect = now + configuration.reconnectInterval
            return directives
        }
        guard now >= due else { return directives }
        nextReconnect = now + configuration.reconnectInterval
        let failed = records.values.filter { $0.member.status == .failed }.map(\.member).sorted { $0.name < $1.name }
        guard !failed.isEmpty else { return directives }
        let alive = records.count - failed.count - records.values.filter { $0.member.status == .left }.count
        let probability = Double(failed.count) / Double(max(alive, 1))
        guard Double.random(in: 0..<1, using: &rng) <= probability else { return directives }
        let target = failed[Int.random(in: 0..<failed.count, using: &rng)]
        directives.append(.joinMember(name: target.name, address: target.address))
        return directives
    }
}
