import LeveeGossip
import LeveePolicy

/// What the node must do outside its lock after the pure instances handled an input.
enum GossipEffect: Sendable {
    /// One datagram, piggyback and CRC as the membership instance chose.
    case send(OutboundPacket)
    /// A Serf message by UDP `user` message (query acks and responses, relays).
    case sendUserMessage([UInt8], to: NodeAddress)
    /// A push/pull over TCP, carrying Serf's state as it was when the exchange was asked for.
    case pushPull(PushPullRequest, userState: [UInt8])
    case streamPing(StreamPingRequest)
    case emit(GossipEvent)
    /// An answer to a query this node sent (`GossipNode.query`).
    case queryAnswered(SerfQueryAnswer)
    case joinCompleted(JoinResult)
    case leaveCompleted(broadcastSent: Bool)
}

/// The two pure instances of one pool member wired together, as memberlist wires serf's delegates:
/// every input goes in with `now`, the cascade between the layers (user messages up, broadcasts
/// down, member events up) is resolved here, and only I/O and events come out.
///
/// It lives behind the node's lock; nothing here blocks or touches a socket.
struct GossipPool: Sendable {
    /// How often Serf's reaper, reconnect and query expiry run; serf's own loops are coarser.
    static let serfTickInterval = Duration.milliseconds(500)

    var membership: MembershipInstance
    var serf: SerfInstance
    var random: SplitMix64
    /// When membership last asked to be ticked.
    var membershipDeadline = Instant.zero
    var serfDeadline: Instant
    var counters = GossipNodeCounters()

    init(
        configuration: GossipNodeConfiguration,
        address: NodeAddress,
        now: Instant
    ) throws(GossipNodeError) {
        var serfConfiguration = SerfConfiguration(
            nodeName: configuration.name,
            address: SerfMemberAddress(ip: address.ip, port: address.port),
            tags: configuration.tags,
            userEventSizeLimit: configuration.serf.userEventSizeLimit,
            reconnectTimeout: configuration.serf.reconnectTimeout,
            tombstoneTimeout: configuration.serf.tombstoneTimeout,
            gossipInterval: configuration.membershipSettings.gossipInterval
        )
        if configuration.encryptKey != nil {
            // Encryption takes 29 bytes of each datagram (memberlist security.go, version 1).
            serfConfiguration.maxBroadcastBytes -= 29
        }
        do {
            serf = try SerfInstance(configuration: serfConfiguration)
            membership = try MembershipInstance(
                settings: configuration.membershipSettings,
                localName: configuration.name,
                address: address,
                meta: serf.nodeMeta,
                now: now
            )
        } catch {
            throw GossipNodeError(.invalidConfiguration, "\(error)")
        }
        random = configuration.randomSeed.map { SplitMix64(seed: $0) } ?? SplitMix64(seed: .random(in: .min ... .max))
        serfDeadline = now
    }

    /// The earliest instant at which either instance wants a tick.
    var nextDeadline: Instant { min(membershipDeadline, serfDeadline) }

    // MARK: Inputs

    mutating func onTick(now: Instant) -> [GossipEffect] {
        var effects: [GossipEffect] = []
        if now >= membershipDeadline {
            apply(membership.onTick(now: now, using: &random), now: now, into: &effects)
        }
        if now >= serfDeadline {
            serfDeadline = now + Self.serfTickInterval
            apply(serf: serf.onTick(now: now, using: &random), now: now, into: &effects)
        }
        return effects
    }

    mutating func onMessage(_ message: Message, from sender: NodeAddress, now: Instant) -> [GossipEffect] {
        var effects: [GossipEffect] = []
        apply(membership.onMessage(message, from: sender, now: now, using: &random), now: now, into: &effects)
        return effects
    }

    /// Answers a stream someone opened with us (memberlist net.go `handleConn`).
    mutating func onStream(_ message: StreamMessage, now: Instant) -> (reply: StreamMessage?, effects: [GossipEffect]) {
        var effects: [GossipEffect] = []
        switch message {
        case .pushPull(let remote):
            let userState = serf.localState(join: remote.join)
            let inbound = membership.onStreamPushPull(remote, userState: userState, now: now, using: &random)
            apply(inbound.directives, now: now, into: &effects)
            return (.pushPull(inbound.reply), effects)
        case .ping(let ping):
            return (membership.onStreamPing(ping).map { .ack($0) }, effects)
        case .user(let payload):
            // A reliable user message (memberlist `SendReliable`): Serf's `NotifyMsg` all the same.
            apply(serf: serf.onUserMessage(payload, now: now), now: now, into: &effects)
            return (nil, effects)
        case .ack, .err:
            // Not an opening message of any exchange (memberlist net.go `handleConn` logs and drops it).
            counters.unexpectedStreams += 1
            return (nil, effects)
        }
    }

    mutating func onPushPullReply(_ reply: StreamMessage, request id: UInt64, now: Instant) -> [GossipEffect] {
        var effects: [GossipEffect] = []
        if case .pushPull(let remote) = reply {
            apply(membership.onPushPullReply(remote, request: id, now: now, using: &random), now: now, into: &effects)
        } else {
            counters.exchangeFailures += 1
            apply(membership.onPushPullFailed(request: id, now: now), now: now, into: &effects)
        }
        return effects
    }

    mutating func onPushPullFailed(request id: UInt64, now: Instant) -> [GossipEffect] {
        counters.exchangeFailures += 1
        var effects: [GossipEffect] = []
        apply(membership.onPushPullFailed(request: id, now: now), now: now, into: &effects)
        return effects
    }

    mutating func onStreamPingResult(sequenceNumber: UInt32, success: Bool, now: Instant) -> [GossipEffect] {
        if !success { counters.exchangeFailures += 1 }
        var effects: [GossipEffect] = []
        apply(
            membership.onStreamPingResult(sequenceNumber: sequenceNumber, success: success, now: now),
            now: now,
            into: &effects
        )
        return effects
    }

    mutating func join(_ seeds: [NodeAddress], now: Instant) -> [GossipEffect] {
        var effects: [GossipEffect] = []
        apply(membership.join(seeds: seeds, now: now), now: now, into: &effects)
        return effects
    }

    /// serf serf.go `Join`: once memberlist joined someone, announce ourselves with a join intent.
    mutating func announceJoin(now: Instant) -> [GossipEffect] {
        var effects: [GossipEffect] = []
        apply(serf: serf.join(now: now), now: now, into: &effects)
        return effects
    }

    mutating func sendUserEvent(
        name: String,
        payload: [UInt8],
        coalesce: Bool,
        now: Instant
    ) throws(SerfError)
        -> [GossipEffect]
    {
        let directives = try serf.sendUserEvent(name: name, payload: payload, coalesce: coalesce, now: now)
        var effects: [GossipEffect] = []
        apply(serf: directives, now: now, into: &effects)
        return effects
    }

    /// A gossip round now, out of turn (``MembershipInstance/gossipNow(now:using:)``).
    mutating func gossipNow(now: Instant) -> [GossipEffect] {
        var effects: [GossipEffect] = []
        apply(membership.gossipNow(now: now, using: &random), now: now, into: &effects)
        return effects
    }

    /// serf serf.go `Query`: sends a query; its answers come back as `.queryAnswered` effects.
    mutating func query(
        name: String,
        payload: [UInt8]?,
        parameters: SerfQueryParameters,
        now: Instant
    ) throws(SerfError) -> (SerfQueryTicket, [GossipEffect]) {
        let (ticket, directives) = try serf.query(
            name: name,
            payload: payload,
            parameters: parameters,
            now: now,
            using: &random
        )
        var effects: [GossipEffect] = []
        apply(serf: directives, now: now, into: &effects)
        return (ticket, effects)
    }

    mutating func respond(
        to query: IncomingQuery,
        payload: [UInt8]?,
        now: Instant
    ) throws(SerfError)
        -> [GossipEffect]
    {
        let directives = try serf.respond(to: query, payload: payload, now: now)
        var effects: [GossipEffect] = []
        apply(serf: directives, now: now, into: &effects)
        return effects
    }

    mutating func setTags(_ tags: [String: String], now: Instant) throws(GossipNodeError) -> [GossipEffect] {
        do {
            try serf.setTags(tags)
        } catch {
            throw GossipNodeError(.rejected, error.detail)
        }
        var effects: [GossipEffect] = []
        do {
            apply(try membership.updateMeta(serf.nodeMeta, now: now), now: now, into: &effects)
        } catch {
            throw GossipNodeError(.rejected, "\(error)")
        }
        return effects
    }

    /// serf serf.go `Leave`, step 1: the leave intent.
    mutating func beginLeave(now: Instant) -> [GossipEffect] {
        var effects: [GossipEffect] = []
        apply(serf: serf.leave(now: now), now: now, into: &effects)
        return effects
    }

    /// serf serf.go `Leave`, step 3: memberlist's `dead` about ourselves.
    mutating func leaveMembership(now: Instant) -> [GossipEffect] {
        var effects: [GossipEffect] = []
        apply(membership.leave(now: now), now: now, into: &effects)
        return effects
    }

    // MARK: Wiring

    /// Carries out membership's directives that stay inside the pool and turns the rest into effects.
    mutating func apply(_ directives: [MembershipDirective], now: Instant, into effects: inout [GossipEffect]) {
        for directive in directives {
            switch directive {
            case .send(let packet):
                effects.append(.send(packet))
            case .pushPull(let request):
                effects.append(.pushPull(request, userState: serf.localState(join: request.join)))
            case .streamPing(let request):
                effects.append(.streamPing(request))
            case .deliverUserMessage(let payload):
                apply(serf: serf.onUserMessage(payload, now: now), now: now, into: &effects)
            case .mergeUserState(let state, let join):
                apply(serf: serf.mergeRemoteState(state, isJoin: join, now: now), now: now, into: &effects)
            case .memberEvent(let event):
                let member = event.member
                let node = SerfNode(
                    name: member.name,
                    address: SerfMemberAddress(ip: member.address.ip, port: member.address.port),
                    meta: member.meta,
                    versions: member.versions
                )
                let serfDirectives: [SerfDirective]
                switch event {
                case .joined: serfDirectives = serf.onMemberJoined(node, now: now)
                case .updated: serfDirectives = serf.onMemberUpdated(node, now: now)
                case .left, .failed: serfDirectives = serf.onMemberLeft(node, now: now)
                }
                apply(serf: serfDirectives, now: now, into: &effects)
            case .nameConflict:
                // serf would ask the pool with `_serf_conflict`; the node only counts it for now.
                counters.nameConflicts += 1
            case .probeAcknowledged:
                // The ack payload is serf's network coordinate, which this node does not keep.
                break
            case .joinCompleted(let result):
                effects.append(.joinCompleted(result))
            case .leaveCompleted(let broadcastSent):
                effects.append(.leaveCompleted(broadcastSent: broadcastSent))
            case .scheduleTick(let instant):
                membershipDeadline = instant
            }
        }
    }

    /// Carries out Serf's directives: broadcasts go into membership's user queue, replies become
    /// datagrams, the rest become events.
    mutating func apply(serf directives: [SerfDirective], now: Instant, into effects: inout [GossipEffect]) {
        for directive in directives {
            switch directive {
            case .broadcast(let payload, _):
                membership.queueUserBroadcast(payload)
            case .sendUserMessage(let payload, let address):
                guard let destination = NodeAddress(ip: address.ip, port: address.port) else {
                    counters.invalidAddresses += 1
                    continue
                }
                effects.append(.sendUserMessage(payload, to: destination))
            case .deliverEvent(let event):
                effects.append(
                    .emit(.userEvent(name: event.name, payload: event.payload ?? [], coalesce: event.canCoalesce))
                )
            case .deliverQuery(let query):
                effects.append(.emit(.query(GossipQuery(query))))
            case .queryAnswered(let answer):
                effects.append(.queryAnswered(answer))
            case .queryFinished:
                // `GossipNode.query` collects until the ticket's deadline on its own clock.
                break
            case .memberStatusChanged(let member, _, let status):
                let member = GossipMember(member)
                switch status {
                case .alive: effects.append(.emit(.memberJoined(member)))
                case .leaving: effects.append(.emit(.memberLeaving(member)))
                case .left: effects.append(.emit(.memberLeft(member)))
                case .failed: effects.append(.emit(.memberFailed(member)))
                case .none: break
                }
            case .memberUpdated(let member):
                effects.append(.emit(.memberUpdated(GossipMember(member))))
            case .memberReaped(let member):
                effects.append(.emit(.memberReaped(GossipMember(member))))
            case .joinMember(_, let address):
                // serf serf.go `reconnect`: a memberlist join of one failed member.
                guard let seed = NodeAddress(ip: address.ip, port: address.port) else {
                    counters.invalidAddresses += 1
                    continue
                }
                apply(membership.join(seeds: [seed], now: now), now: now, into: &effects)
            }
        }
    }
}
