public import LeveePolicy

extension SerfInstance {
    /// memberlist `NotifyJoin` (serf serf.go `handleNodeJoin`): the member becomes alive, unless an
    /// intent buffered while it was unknown says otherwise (a leave intent makes it `leaving`).
    public mutating func onMemberJoined(_ node: SerfNode, now: Instant) -> [SerfDirective] {
        let tags = decodeTags(node.meta)
        guard var record = records[node.name] else {
            var record = MemberRecord(
                member: SerfMember(
                    name: node.name,
                    address: node.address,
                    tags: tags,
                    status: .alive,
                    versions: node.versions
                ),
                statusLTime: LamportTime(0)
            )
            // The buffer holds one intent per node, the newest (serf serf.go `recentIntent`).
            if let intent = recentIntents[node.name] {
                record.statusLTime = intent.lTime
                if !intent.isJoin { record.member.status = .leaving }
            }
            records[node.name] = record
            return [.memberStatusChanged(record.member, from: .none, to: record.member.status)]
        }
        let old = record.member.status
        record.member.status = .alive
        record.leaveTime = nil
        record.member.address = node.address
        record.member.tags = tags
        record.member.versions = node.versions
        records[node.name] = record
        if old == .alive { return [.memberUpdated(record.member)] }
        return [.memberStatusChanged(record.member, from: old, to: .alive)]
    }

    /// memberlist `NotifyUpdate` (serf serf.go `handleNodeUpdate`): new address, tags or versions for a
    /// known member; an unknown one is ignored.
    public mutating func onMemberUpdated(_ node: SerfNode, now: Instant) -> [SerfDirective] {
        guard var record = records[node.name] else { return [] }
        record.member.address = node.address
        record.member.tags = decodeTags(node.meta)
        record.member.versions = node.versions
        records[node.name] = record
        return [.memberUpdated(record.member)]
    }

    /// memberlist `NotifyLeave` (serf serf.go `handleNodeLeave`): a `leaving` member has `left`, an
    /// `alive` one has `failed`.
    ///
    /// Like serf, this ignores whether memberlist saw a graceful leave (`dead` from the node itself)
    /// or a failure: only a Serf leave intent makes a departure graceful.
    public mutating func onMemberLeft(_ node: SerfNode, now: Instant) -> [SerfDirective] {
        guard var record = records[node.name] else { return [] }
        let old = record.member.status
        switch old {
        case .leaving: record.member.status = .left
        case .alive: record.member.status = .failed
        case .none, .left, .failed: return []
        }
        record.leaveTime = now
        records[node.name] = record
        return [.memberStatusChanged(record.member, from: old, to: record.member.status)]
    }

    /// Tags from memberlist `Meta`; undecodable Meta counts and reads as no tags (serf serf.go
    /// `decodeTags` logs and returns what it has).
    mutating func decodeTags(_ meta: [UInt8]) -> [String: String] {
        do {
            return try Tags.decode(meta)
        } catch {
            counters.malformedMeta += 1
            return [:]
        }
    }

    /// Whether any member other than the local node is alive (serf serf.go `hasAliveMembers`).
    var hasAliveMembers: Bool {
        records.values.contains { $0.member.status == .alive && $0.member.name != configuration.nodeName }
    }
}
