import LeveeClock
import LeveeGossip
import LeveePolicy
import NIOCore

extension GossipNode {
    /// Carries out the I/O the instances asked for, each job a child task so that a slow TCP
    /// exchange never holds up datagrams.
    func carryOutJobs() async {
        await withDiscardingTaskGroup { group in
            for await job in core.jobs {
                group.addTask { await self.carryOut(job) }
            }
        }
    }

    private func carryOut(_ job: GossipEffect) async {
        switch job {
        case .send(let packet):
            let options = PacketEncodeOptions(
                compress: configuration.membershipSettings.enableCompression,
                checksum: packet.checksum
            )
            await send(packet.messages, to: packet.address, options: options)
        case .sendUserMessage(let payload, let address):
            // memberlist `SendToAddress`: a bare `[8][payload]` datagram, no CRC.
            let options = PacketEncodeOptions(compress: configuration.membershipSettings.enableCompression)
            await send([.user(payload)], to: address, options: options)
        case .pushPull(let request, let userState):
            await exchangePushPull(request, userState: userState)
        case .streamPing(let request):
            await exchangePing(request)
        case .emit, .queryAnswered, .joinCompleted, .leaveCompleted:
            break
        }
    }

    private func send(_ messages: [Message], to address: NodeAddress, options: PacketEncodeOptions) async {
        do {
            let destination = try SocketAddress(gossipAddress: address.ip, port: address.port)
            try await transport.send(messages, to: destination, options: options)
        } catch {
            core.count { $0.sendFailures += 1 }
        }
    }

    /// memberlist net.go `pushPullNode`: send our state, read theirs, merge.
    private func exchangePushPull(_ request: PushPullRequest, userState: [UInt8]) async {
        do {
            let peer = try SocketAddress(gossipAddress: request.address.ip, port: request.address.port)
            let reply = try await transport.exchange(
                .pushPull(request.message(userState: userState)),
                with: peer,
                timeout: remaining(until: request.deadline)
            )
            core.handle { pool, now in pool.onPushPullReply(reply, request: request.id, now: now) }
        } catch {
            core.handle { pool, now in pool.onPushPullFailed(request: request.id, now: now) }
        }
    }

    /// memberlist net.go `sendPingAndWaitForAck`: the TCP fallback of a failing probe.
    private func exchangePing(_ request: StreamPingRequest) async {
        var success = false
        do {
            let peer = try SocketAddress(gossipAddress: request.address.ip, port: request.address.port)
            let reply = try await transport.exchange(
                .ping(request.ping),
                with: peer,
                timeout: remaining(until: request.deadline)
            )
            if case .ack(let ack) = reply, ack.seqNo == request.ping.seqNo { success = true }
        } catch {
            success = false
        }
        let sequenceNumber = request.ping.seqNo
        core.handle { pool, now in
            pool.onStreamPingResult(sequenceNumber: sequenceNumber, success: success, now: now)
        }
    }

    private func remaining(until deadline: Instant) -> Duration {
        max(deadline - core.clock.now(), .milliseconds(1))
    }
}
