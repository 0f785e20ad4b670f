public import LeveePolicy

extension MembershipInstance {
    /// memberlist util.go `compoundHeaderOverhead` and `compoundOverhead`: the compound's type and
    /// count bytes, and the two length bytes of each part.
    static let compoundHeaderOverhead = 2
    static let compoundPartOverhead = 2
    /// memberlist.go `userMsgOverhead`: the `[8]` before each user payload.
    static let userMessageOverhead = 1

    /// Queues a memberlist broadcast about `node`, replacing any queued one about the same node.
    mutating func queueBroadcast(_ message: Message, about node: String) {
        broadcasts.enqueue(message, size: message.encoded().count, name: node)
    }

    /// Queues a broadcast of the layer above (a Serf message, `[serf type][msgpack]`). User
    /// broadcasts never replace each other; they fill what memberlist's own leave of each datagram,
    /// framed as `[8][payload]`.
    public mutating func queueUserBroadcast(_ payload: [UInt8]) {
        userBroadcasts.enqueue(payload, size: payload.count)
        userBroadcasts.prune(maxRetained: settings.maxUserBroadcasts)
    }

    /// memberlist.go `getBroadcasts`: memberlist's own first, then the delegate's in what is left.
    mutating func takeBroadcasts(overhead: Int, limit: Int) -> [Message] {
        var messages = broadcasts.take(
            overhead: overhead,
            limit: limit,
            transmitLimit: BroadcastQueue<Message>.retransmitLimit(
                retransmitMult: settings.retransmitMult,
                nodeCount: nodeCount
            )
        )
        let used = messages.reduce(0) { $0 + overhead + $1.encoded().count }
        let available = limit - used
        if available > overhead + Self.userMessageOverhead {
            // serf delegate.go GetBroadcasts: serf's queue counts live members (NumMembers).
            let user = userBroadcasts.take(
                overhead: overhead + Self.userMessageOverhead,
                limit: available,
                transmitLimit: BroadcastQueue<[UInt8]>.retransmitLimit(
                    retransmitMult: settings.retransmitMult,
                    nodeCount: liveCount
                )
            )
            messages += user.map { .user($0) }
        }
        return messages
    }

    /// net.go `sendMsg`: piggyback broadcasts on a ping, ack, nack or indirect ping when they fit in
    /// `UDPBufferSize` after the message, the compound header and encryption. No CRC: memberlist
    /// passes no node here.
    mutating func sendWithPiggyback(_ message: Message, to address: NodeAddress) {
        let limit =
            settings.udpBufferSize - message.encoded().count - Self.compoundHeaderOverhead
            - settings.encryptionOverhead
        let extra = takeBroadcasts(overhead: Self.compoundPartOverhead, limit: limit)
        outbox.append(.send(OutboundPacket(address: address, messages: [message] + extra, checksum: false)))
    }

    /// A gossip round now, out of turn (memberlist gossips only on its timer): to `gossipNodes` random
    /// members, with what the broadcast queues hold. For news that should not wait up to a gossip
    /// interval for the next round; what it sends uses up transmissions as a timer's round would, and
    /// the timer's rounds go on as before. Nothing before the instance started or after it left.
    public mutating func gossipNow(
        now: Instant,
        using rng: inout some RandomNumberGenerator
    ) -> [MembershipDirective] {
        guard started, !hasLeft else { return [] }
        gossip(now: now, using: &rng)
        return drain(now: now)
    }

    /// state.go `gossip`: to `gossipNodes` random members that are Alive, Suspect, or Dead for less
    /// than `gossipToTheDeadTime`, one datagram each, as long as the queues have something.
    mutating func gossip(now: Instant, using rng: inout some RandomNumberGenerator) {
        let targets = randomMembers(settings.gossipNodes, using: &rng) { member in
            switch member.state {
            case .alive, .suspect: true
            case .dead: now - member.stateChange <= settings.gossipToTheDeadTime
            case .left: false
            }
        }
        let limit = settings.udpBufferSize - Self.compoundHeaderOverhead - settings.encryptionOverhead
        for target in targets {
            let messages = takeBroadcasts(overhead: Self.compoundPartOverhead, limit: limit)
            guard !messages.isEmpty else { return }
            outbox.append(
                .send(
                    OutboundPacket(
                        address: target.address,
                        messages: messages,
                        checksum: target.versions.protocolMax >= 5
                    )
                )
            )
        }
    }
}
