public import LeveeGossip
public import NIOCore
import NIOPosix
import Synchronization

/// TCP streams: one exchange per connection, then close (memberlist net.go `handleConn`,
/// `sendAndReceiveState`, `sendPingAndWaitForAck`, `sendUserMsg`).
extension GossipTransport {
    /// Sends `message` on a new TCP connection and returns the one message the peer answers with:
    /// a push/pull reply for a push/pull (net.go `sendAndReceiveState`), an ack for a TCP ping
    /// (net.go `sendPingAndWaitForAck`).
    ///
    /// The whole exchange, connecting included, must finish before `timeout` (memberlist
    /// `TCPTimeout` by default). An `err` answer is thrown as `remoteError`.
    public func exchange(
        _ message: StreamMessage,
        with peer: SocketAddress,
        timeout: Duration? = nil
    ) async throws -> StreamMessage {
        let timeout = timeout ?? configuration.streamTimeout
        let reply = try await openStream(to: peer, sending: message, timeout: timeout) { inbound, deadline in
            try await self.readMessage(from: inbound, deadline: deadline)
        }
        if case .err(let response) = reply {
            countStreamFailure(.remoteError)
            throw GossipTransportError(.remoteError, "\(peer) answered: \(response.error)")
        }
        state.withLock { $0.counters.streamsCompleted += 1 }
        return reply
    }

    /// Sends `message` on a new TCP connection and closes it without waiting for an answer: a
    /// reliable user message (memberlist net.go `sendUserMsg`).
    public func sendStream(_ message: StreamMessage, to peer: SocketAddress, timeout: Duration? = nil) async throws {
        try await openStream(to: peer, sending: message, timeout: timeout ?? configuration.streamTimeout) { _, _ in }
        state.withLock { $0.counters.streamsCompleted += 1 }
    }

    private func openStream<Result: Sendable>(
        to peer: SocketAddress,
        sending message: StreamMessage,
        timeout: Duration,
        then body: (NIOAsyncChannelInboundStream<ByteBuffer>, NIODeadline) async throws -> Result
    ) async throws -> Result {
        var generator = SystemRandomNumberGenerator()
        let bytes = try streamEncoder.encode(message, using: &generator)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            connection = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(TimeAmount(timeout))
                .connect(to: peer) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            countStreamFailure(.connection)
            throw error
        }
        // net.go sets one deadline on the connection for the whole exchange; closing the channel
        // when it passes ends any pending read or write.
        let timer = connection.channel.eventLoop.scheduleTask(deadline: deadline) {
            connection.channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            return try await connection.executeThenClose { inbound, _ in
                try await connection.channel.writeAndFlush(connection.channel.allocator.buffer(bytes: bytes))
                return try await body(inbound, deadline)
            }
        } catch let error as GossipTransportError {
            throw error
        } catch let error as WireError {
            countStreamFailure(.malformed(error.code))
            throw error
        } catch {
            if NIODeadline.now() >= deadline {
                countStreamFailure(.timeout)
                throw GossipTransportError(.timeout, "no answer from \(peer) within \(timeout)")
            }
            countStreamFailure(.connection)
            throw error
        }
    }

    /// Reads until one whole message is framed (memberlist net.go `readStream`); no length prefix
    /// unless encrypted, so the framer re-parses as bytes arrive.
    func readMessage(
        from inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        deadline: NIODeadline
    ) async throws -> StreamMessage {
        var framer = StreamFramer(
            keyring: configuration.keyring,
            verifyIncoming: configuration.verifyIncoming,
            limits: configuration.limits
        )
        do {
            for try await buffer in inbound {
                try framer.append(buffer.readableBytesView)
                if let message = try framer.nextMessage() { return message }
            }
        } catch let error as WireError {
            throw error
        } catch {
            if NIODeadline.now() >= deadline {
                countStreamFailure(.timeout)
                throw GossipTransportError(.timeout, "no whole message before the stream deadline")
            }
            throw error
        }
        if NIODeadline.now() >= deadline {
            countStreamFailure(.timeout)
            throw GossipTransportError(.timeout, "no whole message before the stream deadline")
        }
        countStreamFailure(.ended)
        throw GossipTransportError(
            .streamEnded,
            "the peer closed the stream with \(framer.bufferedByteCount) bytes of an incomplete message"
        )
    }

    func countStreamFailure(_ reason: StreamFailureReason) {
        state.withLock { $0.counters.streamFailures[reason, default: 0] += 1 }
    }

    // MARK: Inbound

    func serveStreams(_ listener: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) async throws {
        try await listener.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections {
                    let admitted = state.withLock { state in
                        state.unservedConnections.removeValue(forKey: ObjectIdentifier(connection.channel))
                        guard state.counters.streamsInProgress < configuration.maxConcurrentStreams else {
                            return false
                        }
                        state.counters.streamsInProgress += 1
                        return true
                    }
                    guard admitted else {
                        countStreamFailure(.overloaded)
                        // Closed through executeThenClose, as NIO requires of a wrapped channel.
                        group.addTask { try? await connection.executeThenClose { _, _ in } }
                        continue
                    }
                    group.addTask {
                        await self.serve(connection)
                        self.state.withLock { $0.counters.streamsInProgress -= 1 }
                    }
                }
            }
        }
    }

    /// memberlist net.go `handleConn`: read one message before `TCPTimeout`, hand it to the
    /// responder, write its answer; on a read failure answer `err` with the reason.
    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let peer = connection.channel.remoteAddress
        let deadline = NIODeadline.now() + TimeAmount(configuration.streamTimeout)
        let timer = connection.channel.eventLoop.scheduleTask(deadline: deadline) {
            connection.channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            try await connection.executeThenClose { inbound, _ in
                let reply: StreamMessage?
                do {
                    let message = try await readMessage(from: inbound, deadline: deadline)
                    state.withLock { $0.counters.streamsAccepted += 1 }
                    reply = await streamResponder(message, peer)
                } catch let error as WireError {
                    countStreamFailure(.malformed(error.code))
                    reply = .err(ErrorResponse(error: error.description))
                }
                guard let reply else { return }
                var generator = SystemRandomNumberGenerator()
                let bytes = try streamEncoder.encode(reply, using: &generator)
                try await connection.channel.writeAndFlush(connection.channel.allocator.buffer(bytes: bytes))
            }
        } catch let error as GossipTransportError where error.code == .timeout || error.code == .streamEnded {
            // Counted where it was detected.
        } catch {
            countStreamFailure(.connection)
        }
    }
}
