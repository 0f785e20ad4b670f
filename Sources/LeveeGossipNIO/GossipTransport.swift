public import LeveeGossip
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The I/O shell of a gossip member: one UDP socket and one TCP listener on the same port, speaking
/// the memberlist wire format through `PacketCodec`, `StreamFramer` and `StreamEncoder`.
///
/// It plays the part of memberlist's `NetTransport` (net_transport.go) behind the `Transport`
/// interface (transport.go): datagrams in and out (`PacketCh`, `WriteTo`), inbound streams
/// (`StreamCh`, served as in net.go `handleConn`) and outbound streams (`DialTimeout`, used by
/// net.go `sendAndReceiveState` and `sendPingAndWaitForAck`). It knows nothing of membership:
/// decoded datagrams go to `inboundPackets`, inbound stream messages to the `StreamResponder`.
///
/// `run()` binds both sockets and serves until its task is cancelled, `shutdown()` is called or a
/// graceful shutdown of the enclosing `ServiceGroup` begins.
public final class GossipTransport: Service, Sendable {
    /// Answers one inbound stream message; `nil` sends nothing back (a reliable user message).
    ///
    /// memberlist net.go `handleConn`: a push/pull is answered with the local state carrying the
    /// same `Join` flag, a ping with an ack.
    public typealias StreamResponder =
        @Sendable (_ message: StreamMessage, _ peer: SocketAddress?) async -> StreamMessage?

    public let configuration: GossipTransportConfiguration
    /// Every datagram that decoded, in arrival order. It finishes when `run()` returns.
    public let inboundPackets: AsyncStream<InboundPacket>

    private let inboundContinuation: AsyncStream<InboundPacket>.Continuation
    let streamResponder: StreamResponder
    let eventLoopGroup: any EventLoopGroup
    private let codec: PacketCodec
    let streamEncoder: StreamEncoder
    let state: Mutex<State>

    struct Sockets: Sendable {
        var datagram: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>
        var listener: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        var localAddress: SocketAddress

        func close() {
            datagram.channel.close(promise: nil)
            listener.channel.close(promise: nil)
        }
    }

    enum Phase {
        case idle
        case binding
        case serving(Sockets)
        case finished
    }

    struct State {
        var phase: Phase = .idle
        /// `shutdown()` was called: errors from the closing sockets are the expected end.
        var stopRequested = false
        var counters = TransportCounters()
        var bindWaiters: [CheckedContinuation<Sockets, any Error>] = []
        /// Accepted connections not yet handed to `serve`. An `NIOAsyncChannel` must be closed with
        /// `executeThenClose` before it is released (NIO traps otherwise), and the listener drops
        /// the connections it still buffers when its reader is cancelled; this keeps them alive so
        /// that `run()` can close them.
        var unservedConnections: [ObjectIdentifier: NIOAsyncChannel<ByteBuffer, ByteBuffer>] = [:]
    }

    /// - Parameters:
    ///   - configuration: where to bind and how to frame and protect traffic.
    ///   - eventLoopGroup: the NIO loops the sockets run on.
    ///   - streamResponder: answers inbound stream messages (push/pull, TCP ping, user messages).
    public init(
        configuration: GossipTransportConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        streamResponder: @escaping StreamResponder
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.streamResponder = streamResponder
        self.codec = PacketCodec(
            keyring: configuration.keyring,
            verifyIncoming: configuration.verifyIncoming,
            limits: configuration.limits
        )
        self.streamEncoder = StreamEncoder(compress: configuration.compressStreams, keyring: configuration.keyring)
        (self.inboundPackets, self.inboundContinuation) = AsyncStream.makeStream(
            of: InboundPacket.self,
            bufferingPolicy: .bufferingOldest(configuration.inboundPacketBufferSize)
        )
        self.state = Mutex(State())
    }

    /// A snapshot of the traffic counters.
    public var counters: TransportCounters { state.withLock { $0.counters } }

    /// The address both sockets are bound to, once `run()` has bound them; waits until then.
    /// Throws `notRunning` when the transport has stopped or binding failed.
    public func localAddress() async throws -> SocketAddress {
        try await boundSockets().localAddress
    }

    // MARK: Serving

    /// Binds the UDP socket and the TCP listener, then serves both until the task is cancelled,
    /// `shutdown()` is called or a graceful shutdown starts (the `Service` entry point).
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await serve()
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Binds and serves like `run()`, but leaves graceful shutdown to the owner: it stops only when the
    /// task is cancelled or `shutdown()` is called. A gossip node uses this so that it can still send
    /// and receive while it leaves the pool after SIGTERM.
    public func serve() async throws {
        try state.withLock { state throws(GossipTransportError) in
            guard case .idle = state.phase else {
                throw GossipTransportError(.alreadyRunning, "a transport runs once")
            }
            state.phase = .binding
        }
        defer { inboundContinuation.finish() }
        let sockets: Sockets
        do {
            sockets = try await bind()
        } catch {
            finish(failing: error)
            throw error
        }
        let (waiters, stopRequested) = state.withLock { state in
            state.phase = .serving(sockets)
            defer { state.bindWaiters = [] }
            return (state.bindWaiters, state.stopRequested)
        }
        for waiter in waiters { waiter.resume(returning: sockets) }
        // shutdown() while binding: serve nothing.
        if stopRequested { sockets.close() }

        do {
            try await withTaskCancellationHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await self.serveDatagrams(sockets.datagram) }
                    group.addTask { try await self.serveStreams(sockets.listener) }
                }
            } onCancel: {
                sockets.close()
            }
        } catch {
            // Closing the sockets from the cancellation handler ends the reads with an error;
            // that is how serving stops, not a failure.
            if !Task.isCancelled && !state.withLock({ $0.stopRequested }) {
                sockets.close()
                await closeUnservedConnections()
                finish(failing: error)
                throw error
            }
        }
        sockets.close()
        await closeUnservedConnections()
        finish(failing: GossipTransportError(.notRunning, "the transport has shut down"))
    }

    /// Closes the connections accepted while serving stopped, which no `serve` will ever take.
    private func closeUnservedConnections() async {
        let leftovers = state.withLock { state in
            defer { state.unservedConnections = [:] }
            return Array(state.unservedConnections.values)
        }
        for connection in leftovers {
            try? await connection.executeThenClose { _, _ in }
        }
    }

    /// Stops serving: closes both sockets, so that `run()` returns once the streams in flight end.
    public func shutdown() {
        let sockets: Sockets? = state.withLock { state in
            state.stopRequested = true
            if case .serving(let sockets) = state.phase { return sockets }
            return nil
        }
        sockets?.close()
    }

    private func finish(failing error: any Error) {
        let waiters = state.withLock { state in
            state.phase = .finished
            defer { state.bindWaiters = [] }
            return state.bindWaiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    func boundSockets() async throws -> Sockets {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Sockets, GossipTransportError>? = state.withLock { state in
                switch state.phase {
                case .serving(let sockets):
                    return .success(sockets)
                case .finished:
                    return .failure(GossipTransportError(.notRunning, "the transport is not running"))
                case .idle, .binding:
                    state.bindWaiters.append(continuation)
                    return nil
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    // MARK: Binding

    /// UDP first, then TCP on the port UDP got; with port 0, retried when TCP cannot have that port
    /// (memberlist net_transport.go `NewNetTransport` binds both on one port; memberlist.go
    /// `newMemberlist` retries a taken port).
    private func bind() async throws -> Sockets {
        let requested = configuration.bindAddress
        let attempts = requested.port == 0 ? max(1, configuration.bindAttempts) : 1
        var lastError: (any Error)?
        for _ in 0..<attempts {
            let datagram = try await bindDatagram(requested)
            guard let udpAddress = datagram.channel.localAddress, let port = udpAddress.port else {
                datagram.channel.close(promise: nil)
                throw GossipTransportError(.bindFailed, "the UDP socket has no local address")
            }
            do {
                var tcpAddress = requested
                tcpAddress.port = port
                let listener = try await bindListener(tcpAddress)
                return Sockets(datagram: datagram, listener: listener, localAddress: udpAddress)
            } catch {
                lastError = error
                try? await datagram.channel.close()
            }
        }
        throw GossipTransportError(
            .bindFailed,
            "no port for both UDP and TCP on \(requested) after \(attempts) attempts: \(String(describing: lastError))"
        )
    }

    private func bindDatagram(
        _ address: SocketAddress
    ) async throws -> NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>> {
        // One byte more than the limit, so that an oversized datagram shows its size instead of
        // arriving cut to the limit.
        let receiveCapacity = configuration.maxInboundPacketBytes + 1
        // No SO_REUSEADDR: on Linux it would let a second UDP socket share the port and split the
        // datagrams between them (Go's net.ListenUDP does not set it either).
        return try await DatagramBootstrap(group: eventLoopGroup)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: receiveCapacity))
            .bind(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
    }

    private func bindListener(
        _ address: SocketAddress
    ) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 128)
            .bind(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    self.state.withLock { $0.unservedConnections[ObjectIdentifier(channel)] = connection }
                    return connection
                }
            }
    }

    // MARK: Datagrams

    private func serveDatagrams(
        _ channel: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>
    ) async throws {
        try await channel.executeThenClose { inbound, _ in
            for try await envelope in inbound {
                receive(Array(envelope.data.readableBytesView), from: envelope.remoteAddress)
            }
        }
    }

    /// memberlist net_transport.go `udpListen` then net.go `ingestPacket`: decode, or drop and count.
    private func receive(_ datagram: [UInt8], from source: SocketAddress) {
        var dropReason: PacketDropReason?
        if datagram.count > configuration.maxInboundPacketBytes {
            dropReason = .oversized
        } else {
            do {
                let messages = try codec.decodePacket(datagram)
                let packet = InboundPacket(messages: messages, source: source, byteCount: datagram.count)
                if case .dropped = inboundContinuation.yield(packet) { dropReason = .backpressure }
            } catch {
                dropReason = .malformed(error.code)
            }
        }
        state.withLock { state in
            state.counters.packetsReceived += 1
            state.counters.bytesReceived += datagram.count
            if let dropReason { state.counters.packetDrops[dropReason, default: 0] += 1 }
        }
    }

    /// Sends `messages` in one datagram from the member port: one message alone, several as a
    /// compound, then compressed (if smaller), CRC-prefixed and encrypted per `options` and the
    /// keyring (memberlist net.go `sendMsg`, `rawSendMsgPacket`).
    ///
    /// Throws `packetTooLarge` when the datagram exceeds `maxOutboundPacketBytes`: memberlist's
    /// budget (`UDPBufferSize`) is the caller's to respect when it picks the piggybacked gossip.
    public func send(
        _ messages: [Message],
        to destination: SocketAddress,
        options: PacketEncodeOptions? = nil
    ) async throws {
        var generator = SystemRandomNumberGenerator()
        let datagram = try codec.encodePacket(
            messages,
            options: options ?? configuration.packetOptions,
            using: &generator
        )
        guard datagram.count <= configuration.maxOutboundPacketBytes else {
            throw GossipTransportError(
                .packetTooLarge,
                "\(datagram.count) bytes, the budget is \(configuration.maxOutboundPacketBytes)"
            )
        }
        try await sendDatagram(datagram, to: destination)
    }

    /// Sends bytes as they are, from the member port (memberlist transport.go `WriteTo`).
    public func sendDatagram(_ datagram: [UInt8], to destination: SocketAddress) async throws {
        let channel = try await boundSockets().datagram.channel
        let envelope = AddressedEnvelope(remoteAddress: destination, data: channel.allocator.buffer(bytes: datagram))
        try await channel.writeAndFlush(envelope)
        state.withLock { state in
            state.counters.packetsSent += 1
            state.counters.bytesSent += datagram.count
        }
    }
}
