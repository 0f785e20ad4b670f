import LeveePolicy

extension MembershipInstance {
    /// memberlist state.go `aliveNode`: a newer incarnation wins; about ourselves, anything that
    /// differs from what we are is refuted.
    mutating func applyAlive(_ alive: Alive, now: Instant, using rng: inout some RandomNumberGenerator) {
        let isLocal = alive.node == localName
        if isLocal && leaveDeadline != nil { return }
        let versions = alive.versions
        guard versions.protocolMin != 0, versions.protocolMax != 0, versions.protocolMin <= versions.protocolMax,
            let address = NodeAddress(ip: alive.addr, port: alive.port), alive.meta.count <= Alive.maxMetaBytes
        else {
            counters.invalidMessages += 1
            return
        }
        var updatesAddress = false
        let previous: Member
        if let known = nodes[alive.node] {
            if known.address != address {
                // A Left node may come back elsewhere; a live one is a name conflict (memberlist
                // `DeadNodeReclaimTime` is 0: a Dead node is never reclaimed).
                guard known.state == .left else {
                    counters.nameConflicts += 1
                    outbox.append(.nameConflict(existing: known, claimed: alive))
                    return
                }
                updatesAddress = true
            }
            previous = known
        } else {
            // The wire reference §3.1: the new entry starts at incarnation 0 and the check is strict,
            // so an alive at incarnation 0 for an unknown node changes nothing.
            guard alive.incarnation > 0 else {
                counters.staleGossip += 1
                return
            }
            previous = Member(
                name: alive.node,
                address: address,
                meta: alive.meta,
                incarnation: 0,
                state: .dead,
                versions: alive.versions,
                stateChange: now
            )
            insertAtRandomPosition(previous, using: &rng)
        }
        if !isLocal && alive.incarnation <= previous.incarnation && !updatesAddress {
            counters.staleGossip += 1
            return
        }
        if isLocal && alive.incarnation < previous.incarnation { return }
        suspicions[alive.node] = nil
        if isLocal {
            // Same incarnation but different meta or versions: we restarted with a new
            // configuration, or someone lies about us. Either way, refute.
            if alive.incarnation == previous.incarnation && alive.meta == previous.meta
                && alive.versions == previous.versions
            {
                return
            }
            refute(accused: alive.incarnation)
            return
        }
        queueBroadcast(.alive(alive), about: alive.node)
        var updated = previous
        updated.incarnation = alive.incarnation
        updated.meta = alive.meta
        updated.address = address
        updated.versions = alive.versions
        if updated.state != .alive {
            updated.state = .alive
            updated.stateChange = now
        }
        nodes[alive.node] = updated
        if previous.isDeadOrLeft {
            outbox.append(.memberEvent(.joined(updated)))
        } else if previous.meta != updated.meta {
            outbox.append(.memberEvent(.updated(updated)))
        }
    }

    /// memberlist state.go `suspectNode`: an equal incarnation overrides alive; a second accuser of an
    /// already suspected node is a Lifeguard confirmation; about ourselves, refute.
    mutating func applySuspect(_ suspect: Suspect, now: Instant) {
        guard let known = nodes[suspect.node], suspect.incarnation >= known.incarnation else {
            counters.staleGossip += 1
            return
        }
        if var suspicion = suspicions[suspect.node] {
            if suspicion.confirm(from: suspect.from, now: now) {
                suspicions[suspect.node] = suspicion
                counters.confirmations += 1
                queueBroadcast(.suspect(suspect), about: suspect.node)
            }
            return
        }
        guard known.state == .alive else { return }
        if suspect.node == localName {
            refute(accused: suspect.incarnation)
            return
        }
        queueBroadcast(.suspect(suspect), about: suspect.node)
        var updated = known
        updated.incarnation = suspect.incarnation
        updated.state = .suspect
        updated.stateChange = now
        nodes[suspect.node] = updated
        counters.suspicions += 1
        let count = nodeCount
        let minimum = Suspicion.minimumTimeout(
            suspicionMult: settings.suspicionMult,
            nodeCount: count,
            probeInterval: settings.probeInterval
        )
        suspicions[suspect.node] = Suspicion(
            from: suspect.from,
            expectedConfirmations: Suspicion.expectedConfirmations(
                suspicionMult: settings.suspicionMult,
                nodeCount: count
            ),
            minimum: minimum,
            maximum: minimum * settings.suspicionMaxTimeoutMult,
            now: now
        )
    }

    /// memberlist state.go `deadNode`: `From == Node` is a graceful leave (Left), anything else a
    /// failure (Dead); about ourselves while not leaving, refute.
    mutating func applyDead(_ dead: Dead, now: Instant) {
        guard let known = nodes[dead.node], dead.incarnation >= known.incarnation else {
            counters.staleGossip += 1
            return
        }
        suspicions[dead.node] = nil
        guard !known.isDeadOrLeft else { return }
        if dead.node == localName && leaveDeadline == nil {
            refute(accused: dead.incarnation)
            return
        }
        queueBroadcast(.dead(dead), about: dead.node)
        var updated = known
        updated.incarnation = dead.incarnation
        updated.state = dead.isGracefulLeave ? .left : .dead
        updated.stateChange = now
        nodes[dead.node] = updated
        counters.deaths += 1
        outbox.append(.memberEvent(dead.isGracefulLeave ? .left(updated) : .failed(updated)))
    }

    /// memberlist state.go `refute`: `inc = max(own + 1, accused + 1)`, health +1, gossip our alive.
    /// Saturates at `UInt32.max` where Go would wrap to a lower incarnation.
    mutating func refute(accused: Incarnation) {
        guard var me = nodes[localName] else { return }
        let next = me.incarnation == .max ? .max : me.incarnation + 1
        me.incarnation = accused >= next ? (accused == .max ? .max : accused + 1) : next
        nodes[localName] = me
        awareness.apply(delta: 1)
        counters.refutations += 1
        queueBroadcast(.alive(me.alive), about: localName)
    }

    /// A suspicion fires only if the node is still suspect from the same state change (state.go
    /// `suspectNode` timeout closure); then we declare it dead ourselves.
    mutating func expireSuspicions(now: Instant) {
        for name in order {
            guard let suspicion = suspicions[name], now >= suspicion.deadline else { continue }
            suspicions[name] = nil
            guard let known = nodes[name], known.state == .suspect, known.stateChange == suspicion.start else {
                continue
            }
            applyDead(Dead(incarnation: known.incarnation, node: name, from: localName), now: now)
        }
    }

    /// state.go `aliveNode`: a new node goes to a random place in the probe list, so that every
    /// member probes in a different order.
    private mutating func insertAtRandomPosition(_ member: Member, using rng: inout some RandomNumberGenerator) {
        nodes[member.name] = member
        order.append(member.name)
        let offset = Int.random(in: 0..<order.count, using: &rng)
        order.swapAt(offset, order.count - 1)
    }
}
