public import LeveePolicy

extension MembershipInstance {
    /// Our node states for a push/pull (net.go `sendLocalState`).
    public var localNodeStates: [PushNodeState] { order.compactMap { nodes[$0]?.pushNodeState } }

    mutating func pushPullRequest(to address: NodeAddress, join: Bool, now: Instant) -> PushPullRequest {
        nextExchangeID &+= 1
        return PushPullRequest(
            id: nextExchangeID,
            address: address,
            join: join,
            nodes: localNodeStates,
            deadline: now + settings.tcpTimeout
        )
    }

    /// state.go `pushPull`: anti-entropy with one random live member.
    mutating func periodicPushPull(now: Instant, using rng: inout some RandomNumberGenerator) {
        guard leaveDeadline == nil,
            let peer = randomMembers(1, using: &rng, where: { $0.state == .alive }).first
        else { return }
        outbox.append(.pushPull(pushPullRequest(to: peer.address, join: false, now: now)))
    }

    /// memberlist `Join`: a push/pull with `Join = true` to each seed. `joinCompleted` follows once
    /// each has answered or failed; it succeeds when at least one did.
    public mutating func join(seeds: [NodeAddress], now: Instant) -> [MembershipDirective] {
        guard !hasLeft else { return [] }
        // A join while another is pending adds to its tally; a later one starts afresh, so that
        // `joinCompleted` counts only the seeds of the joins it completes.
        var tally =
            pendingJoin.isEmpty ? JoinResult(contacted: 0, failed: 0) : joinTally ?? JoinResult(contacted: 0, failed: 0)
        for seed in seeds {
            if seed == localAddress {
                tally.failed += 1
                continue
            }
            let request = pushPullRequest(to: seed, join: true, now: now)
            pendingJoin[request.id] = request.deadline
            outbox.append(.pushPull(request))
        }
        joinTally = tally
        finishJoinIfDone()
        return drain(now: now)
    }

    /// The outcome of the last `join`, once every seed has answered or failed.
    public var joinResult: JoinResult? { pendingJoin.isEmpty ? joinTally : nil }

    /// Someone opened a push/pull with us (net.go `handleConn`): we answer with our state and
    /// `userState` whatever happens, then merge theirs unless `verifyProtocol` rejects it.
    public mutating func onStreamPushPull(
        _ remote: PushPull,
        userState: [UInt8],
        now: Instant,
        using rng: inout some RandomNumberGenerator
    ) -> InboundPushPull {
        guard !hasLeft else {
            counters.ignoredAfterLeave += 1
            return InboundPushPull(
                reply: PushPull(join: remote.join, nodes: [], userState: []),
                merged: false,
                directives: []
            )
        }
        let reply = PushPull(join: remote.join, nodes: localNodeStates, userState: userState)
        let merged = mergeRemoteState(remote, now: now, using: &rng)
        return InboundPushPull(reply: reply, merged: merged, directives: drain(now: now))
    }

    /// The answer to a push/pull we started with `request` (net.go `pushPullNode`).
    public mutating func onPushPullReply(
        _ remote: PushPull,
        request id: UInt64,
        now: Instant,
        using rng: inout some RandomNumberGenerator
    ) -> [MembershipDirective] {
        guard !hasLeft else { return [] }
        let merged = mergeRemoteState(remote, now: now, using: &rng)
        if pendingJoin.removeValue(forKey: id) != nil {
            if merged { joinTally?.contacted += 1 } else { joinTally?.failed += 1 }
            finishJoinIfDone()
        }
        return drain(now: now)
    }

    /// The push/pull `request` could not be completed (connect, read, decode or deadline failure).
    public mutating func onPushPullFailed(request id: UInt64, now: Instant) -> [MembershipDirective] {
        guard !hasLeft else { return [] }
        if pendingJoin.removeValue(forKey: id) != nil {
            joinTally?.failed += 1
            finishJoinIfDone()
        }
        return drain(now: now)
    }

    mutating func expireJoin(now: Instant) {
        let expired = pendingJoin.filter { $0.value <= now }.keys
        guard !expired.isEmpty else { return }
        for id in expired { pendingJoin[id] = nil }
        joinTally?.failed += expired.count
        finishJoinIfDone()
    }

    private mutating func finishJoinIfDone() {
        guard pendingJoin.isEmpty, let tally = joinTally else { return }
        outbox.append(.joinCompleted(tally))
    }

    /// net.go `mergeRemoteState`: verify versions, merge the node states, pass the user state up.
    private mutating func mergeRemoteState(
        _ remote: PushPull,
        now: Instant,
        using rng: inout some RandomNumberGenerator
    ) -> Bool {
        guard verifyProtocol(remote.nodes) else {
            counters.rejectedPushPulls += 1
            return false
        }
        mergeState(remote.nodes, now: now, using: &rng)
        if !remote.userState.isEmpty { outbox.append(.mergeUserState(remote.userState, join: remote.join)) }
        return true
    }

    /// state.go `mergeState`: Alive by the alive rules; Left as a graceful leave; Dead or Suspect
    /// only as a suspicion of ours, because a remote death is hearsay.
    mutating func mergeState(_ remote: [PushNodeState], now: Instant, using rng: inout some RandomNumberGenerator) {
        for state in remote {
            switch state.state {
            case .alive:
                let alive = Alive(
                    incarnation: state.incarnation,
                    node: state.name,
                    addr: state.addr,
                    port: state.port,
                    meta: state.meta,
                    versions: state.versions
                )
                applyAlive(alive, now: now, using: &rng)
            case .left:
                applyDead(Dead(incarnation: state.incarnation, node: state.name, from: state.name), now: now)
            case .dead, .suspect:
                applySuspect(Suspect(incarnation: state.incarnation, node: state.name, from: localName), now: now)
            }
        }
    }

    /// net.go `verifyProtocol`: the ranges `[max PMin, min PMax]` and `[max DMin, min DMax]` over the
    /// alive nodes on both sides must contain every node's current protocol and delegate version.
    public func verifyProtocol(_ remote: [PushNodeState]) -> Bool {
        let local = nodes.values.map { ($0.state, $0.versions) }
        let all = remote.map { ($0.state, $0.versions) } + local
        var maxPMin: UInt8 = 0
        var minPMax = UInt8.max
        var maxDMin: UInt8 = 0
        var minDMax = UInt8.max
        for (state, versions) in all where state == .alive {
            maxPMin = max(maxPMin, versions.protocolMin)
            minPMax = min(minPMax, versions.protocolMax)
            maxDMin = max(maxDMin, versions.delegateMin)
            minDMax = min(minDMax, versions.delegateMax)
        }
        guard maxPMin <= minPMax, maxDMin <= minDMax else { return false }
        let protocolRange = maxPMin...minPMax
        let delegateRange = maxDMin...minDMax
        return all.allSatisfy { _, versions in
            protocolRange.contains(versions.protocolCur) && delegateRange.contains(versions.delegateCur)
        }
    }
}
