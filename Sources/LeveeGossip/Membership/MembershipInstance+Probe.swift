public import LeveePolicy

extension MembershipInstance {
    /// The probe loop (memberlist state.go `probe`, `probeNode`): finish the probe in flight when
    /// its timers are due, then start the next one on schedule.
    mutating func advanceProbe(now: Instant, using rng: inout some RandomNumberGenerator) {
        if var current = probe {
            if !current.indirectSent && now >= current.ackTimeout {
                onProbeTimeout(&current, now: now, using: &rng)
                probe = current
            }
            if now >= current.deadline {
                onProbeFailed(current, now: now)
            }
        }
        guard probe == nil, now >= nextProbe, leaveDeadline == nil else { return }
        if let target = nextProbeTarget(now: now, using: &rng) {
            startProbe(target, now: now)
        } else {
            nextProbe = Self.next(after: nextProbe, every: settings.probeInterval, now: now)
        }
    }

    /// Round-robin over the shuffled node list, skipping ourselves and Dead/Left nodes; on wrap-around
    /// reap and reshuffle (state.go `probe`, `resetNodes`).
    private mutating func nextProbeTarget(now: Instant, using rng: inout some RandomNumberGenerator) -> Member? {
        var checked = 0
        while checked < order.count {
            if probeIndex >= order.count {
                resetNodes(now: now, using: &rng)
                probeIndex = 0
                checked += 1
                continue
            }
            let candidate = nodes[order[probeIndex]]
            probeIndex += 1
            if let candidate, candidate.name != localName, !candidate.isDeadOrLeft { return candidate }
            checked += 1
        }
        return nil
    }

    /// Forgets nodes Dead or Left for longer than `gossipToTheDeadTime` and reshuffles the rest
    /// (state.go `resetNodes`, util.go `moveDeadNodes`).
    private mutating func resetNodes(now: Instant, using rng: inout some RandomNumberGenerator) {
        let reaped = order.filter { name in
            guard name != localName, let node = nodes[name], node.isDeadOrLeft else { return false }
            return now - node.stateChange > settings.gossipToTheDeadTime
        }
        for name in reaped {
            nodes[name] = nil
            suspicions[name] = nil
        }
        if !reaped.isEmpty { order.removeAll { nodes[$0] == nil } }
        order.shuffle(using: &rng)
    }

    private mutating func startProbe(_ target: Member, now: Instant) {
        let sequenceNumber = nextSequenceNumber()
        let ping = Ping(
            seqNo: sequenceNumber,
            node: target.name,
            sourceAddr: localAddress.ip,
            sourcePort: localAddress.port,
            sourceNode: localName
        )
        if target.state == .alive {
            sendWithPiggyback(.ping(ping), to: target.address)
        } else {
            // state.go probeNode: a suspect target also hears that it is suspected, so it can refute
            // at once; sent as a compound with a CRC, without piggyback.
            let suspect = Suspect(incarnation: target.incarnation, node: target.name, from: localName)
            outbox.append(
                .send(
                    OutboundPacket(
                        address: target.address,
                        messages: [.ping(ping), .suspect(suspect)],
                        checksum: target.versions.protocolMax >= 5
                    )
                )
            )
        }
        probe = Probe(
            target: target.name,
            address: target.address,
            sequenceNumber: sequenceNumber,
            start: now,
            ackTimeout: now + settings.probeTimeout,
            deadline: now + awareness.scale(settings.probeInterval)
        )
        counters.probes += 1
    }

    /// No direct ack within `probeTimeout`: ask up to `indirectChecks` live members to ping the target
    /// (requesting a nack from those with PMax ≥ 4), and try a TCP ping in parallel when the target
    /// speaks PMax ≥ 3 (state.go `probeNode`; Lifeguard §3.1 nacks).
    mutating func onProbeTimeout(_ current: inout Probe, now: Instant, using rng: inout some RandomNumberGenerator) {
        current.indirectSent = true
        let target = nodes[current.target]
        let relays = randomMembers(settings.indirectChecks, using: &rng) {
            $0.state == .alive && $0.name != current.target
        }
        for relay in relays {
            let wantsNack = relay.versions.protocolMax >= 4
            if wantsNack { current.expectedNacks += 1 }
            let request = IndirectPing(
                seqNo: current.sequenceNumber,
                target: current.address.ip,
                port: current.address.port,
                node: current.target,
                nack: wantsNack,
                sourceAddr: localAddress.ip,
                sourcePort: localAddress.port,
                sourceNode: localName
            )
            sendWithPiggyback(.indirectPing(request), to: relay.address)
            counters.indirectPings += 1
        }
        if !settings.disableTCPPings, let target, target.versions.protocolMax >= 3 {
            let ping = Ping(
                seqNo: current.sequenceNumber,
                node: current.target,
                sourceAddr: localAddress.ip,
                sourcePort: localAddress.port,
                sourceNode: localName
            )
            outbox.append(
                .streamPing(StreamPingRequest(address: current.address, ping: ping, deadline: current.deadline))
            )
        }
    }

    /// No ack by the deadline: unless the TCP fallback got through, lower our own health by the nacks
    /// we missed (Lifeguard §3.1: missing nacks mean *we* may be the slow one) and suspect the target.
    private mutating func onProbeFailed(_ current: Probe, now: Instant) {
        probe = nil
        nextProbe = max(current.deadline, Self.next(after: current.start, every: settings.probeInterval, now: now))
        if current.tcpFallbackSucceeded {
            // state.go probeNode: "was able to connect … but other probes failed"; treated as alive.
            awareness.apply(delta: -1)
            counters.tcpFallbackSuccesses += 1
            return
        }
        counters.failedProbes += 1
        if current.expectedNacks > 0 {
            awareness.apply(delta: max(0, current.expectedNacks - current.nacks))
        } else {
            awareness.apply(delta: 1)
        }
        guard let target = nodes[current.target] else { return }
        applySuspect(Suspect(incarnation: target.incarnation, node: target.name, from: localName), now: now)
    }

    /// The probe got an ack, directly or relayed: our health improves by one (awareness.go).
    private mutating func onProbeAcknowledged(_ current: Probe, payload: [UInt8]?, now: Instant) {
        probe = nil
        awareness.apply(delta: -1)
        nextProbe = max(current.start + settings.probeInterval, now)
        outbox.append(.probeAcknowledged(node: current.target, rtt: now - current.start, payload: payload))
    }

    mutating func expireRelays(now: Instant) {
        for (sequenceNumber, relay) in relays.sorted(by: { $0.key < $1.key }) where now >= relay.deadline {
            relays[sequenceNumber] = nil
            if relay.wantsNack {
                sendWithPiggyback(.nack(Nack(seqNo: relay.originalSequenceNumber)), to: relay.requester)
            }
        }
    }

    // MARK: Probe messages

    /// net.go `handlePing`: ack to `SourceAddr:SourcePort` when both are set, else to the sender.
    mutating func onPing(_ ping: Ping, from sender: NodeAddress) {
        guard ping.node.isEmpty || ping.node == localName else {
            counters.misdirectedPings += 1
            return
        }
        var destination = sender
        if !ping.sourceAddr.isEmpty, ping.sourcePort > 0 {
            guard let source = NodeAddress(ip: ping.sourceAddr, port: ping.sourcePort) else {
                counters.invalidMessages += 1
                return
            }
            destination = source
        }
        sendWithPiggyback(.ack(Ack(seqNo: ping.seqNo, payload: ackPayload)), to: destination)
    }

    /// net.go `handleIndirectPing`: ping the target with our own sequence number and remember whom
    /// to answer.
    mutating func onIndirectPing(_ request: IndirectPing, from sender: NodeAddress, now: Instant) {
        let port = request.port == 0 ? localAddress.port : request.port
        guard let target = NodeAddress(ip: request.target, port: port) else {
            counters.invalidMessages += 1
            return
        }
        var requester = sender
        if !request.sourceAddr.isEmpty, request.sourcePort > 0 {
            guard let source = NodeAddress(ip: request.sourceAddr, port: request.sourcePort) else {
                counters.invalidMessages += 1
                return
            }
            requester = source
        }
        let sequenceNumber = nextSequenceNumber()
        let ping = Ping(
            seqNo: sequenceNumber,
            node: request.node,
            sourceAddr: localAddress.ip,
            sourcePort: localAddress.port,
            sourceNode: localName
        )
        sendWithPiggyback(.ping(ping), to: target)
        relays[sequenceNumber] = IndirectRelay(
            originalSequenceNumber: request.seqNo,
            requester: requester,
            wantsNack: request.nack,
            deadline: now + settings.probeTimeout
        )
    }

    /// Acks are matched by sequence number alone (net.go `handleAck`).
    mutating func onAck(_ ack: Ack, now: Instant) {
        if let current = probe, current.sequenceNumber == ack.seqNo {
            onProbeAcknowledged(current, payload: ack.payload, now: now)
        } else if let relay = relays.removeValue(forKey: ack.seqNo) {
            sendWithPiggyback(.ack(Ack(seqNo: relay.originalSequenceNumber)), to: relay.requester)
        } else {
            counters.staleAcks += 1
        }
    }

    mutating func onNack(_ nack: Nack) {
        if var current = probe, current.sequenceNumber == nack.seqNo, current.indirectSent {
            current.nacks += 1
            probe = current
        } else {
            counters.staleAcks += 1
        }
    }

    /// The TCP fallback ping of probe `sequenceNumber` finished. Success keeps the target alive when
    /// the probe ends; memberlist waits for the UDP acks first, and so do we.
    public mutating func onStreamPingResult(
        sequenceNumber: UInt32,
        success: Bool,
        now: Instant
    ) -> [MembershipDirective] {
        guard !hasLeft else { return [] }
        if var current = probe, current.sequenceNumber == sequenceNumber {
            if success { current.tcpFallbackSucceeded = true }
            probe = current
        } else {
            counters.staleAcks += 1
        }
        return drain(now: now)
    }

    /// A ping that arrived on a TCP stream: the ack to write back, or nil when it names another node
    /// (net.go `handleConn`, `handlePing` semantics).
    public mutating func onStreamPing(_ ping: Ping) -> Ack? {
        guard !hasLeft else { return nil }
        guard ping.node.isEmpty || ping.node == localName else {
            counters.misdirectedPings += 1
            return nil
        }
        return Ack(seqNo: ping.seqNo, payload: ackPayload)
    }
}
