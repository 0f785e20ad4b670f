import LeveeClock
import LeveeGossip
import LeveePolicy
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// One member of a memberlist/Serf pool: the thin shell around `MembershipInstance` (SWIM with
/// Lifeguard) and `SerfInstance` (member status, user events, queries), speaking through a
/// `GossipTransport`, so that Levee agents and real `serf agent`s form one pool.
///
/// The pure instances and a seeded `SplitMix64` live behind one lock (`GossipNodeCore`); each input
/// (a datagram, a stream, a timer tick, a call) is computed under it and its I/O done after it.
/// `run()` serves until cancelled, a graceful shutdown of the enclosing `ServiceGroup`, or the end
/// of `leave()`. Cancelling it without `leave()` is a crash as far as the pool can tell: the others
/// will declare the node failed.
public final class GossipNode: Service, Sendable {
    public let configuration: GossipNodeConfiguration
    /// Member joins, updates, leaves and failures, user events and queries, in order. It finishes
    /// when the node stops; when nobody reads it, the oldest events are dropped first.
    public var events: AsyncStream<GossipEvent> { core.events }

    let core: GossipNodeCore
    let transport: GossipTransport

    /// A node for `configuration`, which must validate (`GossipNodeConfiguration.validate()`).
    public init(
        configuration: GossipNodeConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        eventBufferSize: Int = 4096
    ) throws {
        do {
            try configuration.validate()
        } catch {
            throw GossipNodeError(.invalidConfiguration, error.description)
        }
        self.configuration = configuration
        let core = GossipNodeCore(clock: MonotonicClock(), eventBufferSize: eventBufferSize)
        self.core = core
        let settings = configuration.membershipSettings
        let transportConfiguration = GossipTransportConfiguration(
            bindAddress: try SocketAddress(ipAddress: configuration.bindHost, port: configuration.bindPort),
            keyring: try configuration.keyring(),
            packetOptions: PacketEncodeOptions(compress: settings.enableCompression),
            compressStreams: settings.enableCompression,
            maxOutboundPacketBytes: settings.udpBufferSize,
            streamTimeout: settings.tcpTimeout
        )
        transport = GossipTransport(configuration: transportConfiguration, eventLoopGroup: eventLoopGroup) {
            message,
            _ in
            // memberlist net.go `handleConn`: push/pull answered with our state, ping with an ack,
            // a reliable user message handed to Serf.
            let now = core.clock.now()
            return try? core.compute { (pool, _) throws(GossipNodeError) in pool.onStream(message, now: now) }
        }
    }

    // MARK: Serving

    /// Binds the sockets, starts the instances, joins the configured seeds (with retries), and
    /// serves: inbound datagrams and streams, the protocol timers and the I/O they ask for.
    public func run() async throws {
        guard core.begin() else { throw GossipNodeError(.notRunning, "a node runs once") }
        defer { core.stop() }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.transport.serve() }
            let bound = try await transport.localAddress()
            let address = try advertisedAddress(bound: bound)
            core.start(try GossipPool(configuration: configuration, address: address, now: core.clock.now()))
            group.addTask { await self.receivePackets() }
            group.addTask { await self.runTimer() }
            group.addTask { await self.carryOutJobs() }
            if !configuration.join.isEmpty {
                group.addTask { await self.joinConfiguredSeeds() }
            }
            group.addTask {
                // A graceful shutdown (SIGTERM or SIGINT through the ServiceGroup) leaves the pool
                // first, so peers see `left` rather than a failure (serf `leave_on_terminate`).
                do {
                    try await gracefulShutdown()
                } catch {
                    return  // cancelled: the node is stopping anyway
                }
                if self.configuration.leaveOnShutdown {
                    await self.leave()
                }
                self.core.stop()
            }
            await withTaskCancellationHandler {
                await core.waitUntilStopped()
            } onCancel: {
                self.core.stop()
            }
            transport.shutdown()
            group.cancelAll()
        }
    }

    /// The address the pool knows us by: the advertised one, else the bound one.
    private func advertisedAddress(bound: SocketAddress) throws -> NodeAddress {
        let port = configuration.advertisePort ?? bound.port ?? configuration.bindPort
        let socketAddress =
            try configuration.advertiseHost.map { try SocketAddress(ipAddress: $0, port: port) } ?? bound
        guard let address = NodeAddress(ip: socketAddress.gossipAddressBytes, port: UInt16(port)) else {
            throw GossipNodeError(.invalidConfiguration, "gossip.advertise: \(socketAddress) is not an IP address")
        }
        return address
    }

    private func receivePackets() async {
        for await packet in transport.inboundPackets {
            guard let sender = NodeAddress(ip: packet.source.gossipAddressBytes, port: packet.source.gossipPort) else {
                core.count { $0.invalidAddresses += 1 }
                continue
            }
            core.handle { pool, now in
                packet.messages.flatMap { pool.onMessage($0, from: sender, now: now) }
            }
        }
    }

    /// Sleeps until the earliest deadline of either instance, or until an input brings it closer,
    /// then ticks them.
    private func runTimer() async {
        while let deadline = core.armTimer() {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    try? await self.core.clock.sleep(until: deadline, atMost: .seconds(1))
                    self.core.wakeTimer()
                }
                await core.waitForTimer()
                group.cancelAll()
            }
            if Task.isCancelled { return }
            core.handle { pool, now in pool.onTick(now: now) }
        }
    }

    /// memberlist `Join` of the configured seeds at start, retried with a doubling backoff (serf
    /// agent `-retry-join`).
    private func joinConfiguredSeeds() async {
        var backoff = configuration.joinRetry.initialBackoff
        for attempt in 1...configuration.joinRetry.maxAttempts {
            if (try? await join(configuration.join)) != nil { return }
            guard attempt < configuration.joinRetry.maxAttempts else { return }
            do {
                try await Task.sleep(for: backoff)
            } catch {
                return
            }
            backoff = min(backoff * 2, configuration.joinRetry.maxBackoff)
        }
    }

    // MARK: Public API

    /// The address both sockets are bound to, once the node runs.
    public func localAddress() async throws -> SocketAddress {
        try await core.waitUntilRunning()
        return try await transport.localAddress()
    }

    /// Joins the pool through `seeds` (`host:port`): a push/pull with each, then a Serf join intent.
    /// Returns how many seeds answered; throws `joinFailed` when none did.
    @discardableResult
    public func join(_ seeds: [String]) async throws -> Int {
        var addresses: [NodeAddress] = []
        // A name stands for every address it resolves to (a headless Service: one per pod).
        for seed in seeds {
            for address in try GossipSeed(seed).resolveAll() where !addresses.contains(address) {
                addresses.append(address)
            }
        }
        try await core.waitUntilRunning()
        let result = await core.join(addresses)
        guard result.contacted > 0 else {
            throw GossipNodeError(
                .joinFailed,
                "none of \(seeds.joined(separator: ", ")) answered the join (wrong address, or a different "
                    + "gossip.encrypt_key?)"
            )
        }
        try core.compute { (pool, now) throws(GossipNodeError) in ((), pool.announceJoin(now: now)) }
        return result.contacted
    }

    /// Leaves the pool gracefully (serf serf.go `Leave`, memberlist-serf-wire.md §4.4): gossip a
    /// leave intent and wait until it went out, gossip our `dead` and wait until it went out, keep
    /// the sockets open for `leavePropagateDelay`, then stop. Each wait is bounded by `timeout`
    /// (serf's `BroadcastTimeout` by default). Does nothing when the node is not running.
    public func leave(timeout: Duration? = nil) async {
        let timeout = timeout ?? configuration.serf.broadcastTimeout
        guard (try? core.compute({ (pool, now) throws(GossipNodeError) in ((), pool.beginLeave(now: now)) })) != nil
        else { return }
        let clock = core.clock
        let deadline = clock.now() + timeout
        let pause = configuration.membershipSettings.gossipInterval / 2
        while clock.now() < deadline, pendingUserBroadcasts > 0, !core.isStopped {
            try? await Task.sleep(for: pause)
        }
        await core.leaveMembership()
        try? await Task.sleep(for: configuration.serf.leavePropagateDelay)
        core.state.withLock { $0.pool?.serf.didLeave() }
        core.stop()
    }

    private var pendingUserBroadcasts: Int {
        core.state.withLock { $0.pool?.membership.queuedBroadcasts.user ?? 0 }
    }

    /// Sends a user event to the pool (serf `UserEvent`); `coalesce: false` asks agents to deliver it
    /// at once. `urgent` sends it in a gossip round now rather than on the next one (up to a gossip
    /// interval away). Throws `rejected` when name and payload exceed the size limit, `notAlive` while
    /// leaving.
    public func sendUserEvent(name: String, payload: [UInt8], coalesce: Bool = false, urgent: Bool = false) throws {
        try core.compute { (pool, now) throws(GossipNodeError) in
            do throws(SerfError) {
                var effects = try pool.sendUserEvent(name: name, payload: payload, coalesce: coalesce, now: now)
                if urgent { effects += pool.gossipNow(now: now) }
                return ((), effects)
            } catch {
                throw GossipNodeError(error.code == .notAlive ? .notAlive : .rejected, error.detail)
            }
        }
    }

    /// A gossip round now, out of turn: passes on at once what the broadcast queues hold, such as a
    /// user event just received that peers should not wait a gossip interval for.
    public func gossipNow() {
        try? core.compute { (pool, now) throws(GossipNodeError) in ((), pool.gossipNow(now: now)) }
    }

    /// Sends a query to the pool (serf `Query`) and returns the responses that arrived within
    /// `timeout`, one per member at most. The node receives its own query too (serf processes it
    /// locally), so when it answers it, its answer is among them. Throws `rejected` when the query is
    /// too large for the pool's limits, `notAlive` while leaving.
    public func query(
        name: String,
        payload: [UInt8],
        filterTags: [String: String] = [:],
        filterNodes: [String] = [],
        timeout: Duration
    ) async throws -> [GossipQueryAnswer] {
        let parameters = SerfQueryParameters(filterNodes: filterNodes, filterTags: filterTags, timeout: timeout)
        let ticket = try core.compute { (pool, now) throws(GossipNodeError) in
            do throws(SerfError) {
                return try pool.query(name: name, payload: payload, parameters: parameters, now: now)
            } catch {
                throw GossipNodeError(error.code == .notAlive ? .notAlive : .rejected, error.detail)
            }
        }
        // Registered as soon as the query is out: an answer needs a round trip through another task
        // (ours) or another node, so none is carried out before this.
        core.state.withLock { $0.queryAnswers[ticket] = [] }
        defer { _ = core.state.withLock { $0.queryAnswers.removeValue(forKey: ticket) } }
        try? await core.clock.sleep(until: ticket.deadline)
        return core.state.withLock { $0.queryAnswers[ticket] ?? [] }
    }

    /// Answers a query from `events` (serf `Query.Respond`), once, before its deadline.
    public func respond(to query: GossipQuery, payload: [UInt8]?) throws {
        try core.compute { (pool, now) throws(GossipNodeError) in
            do throws(SerfError) {
                return ((), try pool.respond(to: query.incoming, payload: payload, now: now))
            } catch {
                throw GossipNodeError(.rejected, error.detail)
            }
        }
    }

    /// Replaces the node's tags and announces them (serf `SetTags`: a new `alive` at the next
    /// incarnation).
    public func setTags(_ tags: [String: String]) throws {
        try core.compute { (pool, now) throws(GossipNodeError) in ((), try pool.setTags(tags, now: now)) }
    }

    /// Every member this node knows, itself included, by name (what `serf members` lists).
    public var members: [GossipMember] {
        core.state.withLock { state in state.pool?.serf.members.map(GossipMember.init) ?? [] }
    }

    /// The member named `name`, if known.
    public func member(named name: String) -> GossipMember? {
        core.state.withLock { state in state.pool?.serf.member(named: name).map(GossipMember.init) }
    }

    /// Counters of every layer.
    public var counters: GossipNodeCounters {
        var counters = core.state.withLock { state in
            guard let pool = state.pool else { return state.counters }
            var counters = pool.counters
            counters.membership = pool.membership.counters
            counters.serf = pool.serf.counters
            return counters
        }
        counters.transport = transport.counters
        return counters
    }
}
