public import LeveePolicy

extension MembershipInstance {
    /// One message of a received datagram (decode it with `PacketCodec.decodePacket`; call once per
    /// message). `sender` is the datagram's source address.
    public mutating func onMessage(
        _ message: Message,
        from sender: NodeAddress,
        now: Instant,
        using rng: inout some RandomNumberGenerator
    ) -> [MembershipDirective] {
        guard !hasLeft else {
            // memberlist answers pings until Shutdown, so a member that has left still acks during
            // Serf's leave-propagate delay: a peer that has not yet heard our `dead` must not start
            // suspecting us. Everything else is ignored.
            if case .ping(let ping) = message {
                onPing(ping, from: sender)
                return drain(now: now)
            }
            counters.ignoredAfterLeave += 1
            return []
        }
        switch message {
        case .ping(let ping): onPing(ping, from: sender)
        case .indirectPing(let request): onIndirectPing(request, from: sender, now: now)
        case .ack(let ack): onAck(ack, now: now)
        case .nack(let nack): onNack(nack)
        case .alive(let alive): applyAlive(alive, now: now, using: &rng)
        case .suspect(let suspect): applySuspect(suspect, now: now)
        case .dead(let dead): applyDead(dead, now: now)
        case .user(let payload): outbox.append(.deliverUserMessage(payload))
        case .unsupported: counters.unsupportedMessages += 1
        }
        return drain(now: now)
    }
}
