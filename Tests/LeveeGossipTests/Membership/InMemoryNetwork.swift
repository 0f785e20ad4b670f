import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

/// Many `MembershipInstance`s in one test, without sockets (after memberlist mock_transport.go
/// `MockNetwork`). Every datagram goes through the real `PacketCodec` and every stream through
/// `PushPull.encoded()` and `StreamFramer.decode`, so the codec is exercised too.
///
/// Time is a shared `ManualClock`; `run(until:)` is a discrete-event loop that advances it to the
/// next delivery or the next requested tick, so nothing sleeps.
struct InMemoryNetwork {
    struct Peer {
        var instance: MembershipInstance
        var wakeAt: Instant
        var running = true
    }

    /// Something on the wire, delivered to `to` at `at`.
    struct InFlight {
        enum Payload {
            case datagram([UInt8], from: NodeAddress)
            case pushPullRequest([UInt8], from: NodeAddress, id: UInt64)
            case pushPullReply([UInt8], id: UInt64)
            case pushPullFailed(id: UInt64)
            case streamPing([UInt8], from: NodeAddress, deadline: Instant)
            case streamPingResult(sequenceNumber: UInt32, success: Bool)
        }

        var at: Instant
        var to: NodeAddress
        var payload: Payload
    }

    struct Link: Hashable {
        var from: NodeAddress
        var to: NodeAddress
    }

    struct ObservedEvent {
        var at: Instant
        var observer: String
        var event: MemberEvent
    }

    var clock = ManualClock()
    var rng: SeededRandom
    let settings: MembershipSettings
    let codec = PacketCodec()
    var latency: Duration = .milliseconds(1)
    /// Compress datagrams as memberlist does by default (slower in debug builds).
    var compress = false
    private(set) var peers: [Peer] = []
    private var indexByAddress: [NodeAddress: Int] = [:]
    private var indexByName: [String: Int] = [:]
    private var queue: [InFlight] = []
    private var head = 0
    /// Links that lose everything.
    var blocked: Set<Link> = []
    /// Nodes cut off from everyone until the given instant (they keep running).
    var isolatedUntil: [NodeAddress: Instant] = [:]
    private(set) var events: [ObservedEvent] = []
    private(set) var datagramsSent = 0
    private(set) var decodeFailures = 0
    private(set) var joinResults: [String: JoinResult] = [:]
    private(set) var leaves: [String: Bool] = [:]
    private(set) var userMessages: [String: [[UInt8]]] = [:]

    init(settings: MembershipSettings = .lan, seed: UInt64) {
        self.settings = settings
        self.rng = SeededRandom(seed: seed)
    }

    static func address(_ index: Int) -> NodeAddress {
        .ipv4(10, 0, UInt8(index / 250), UInt8(index % 250 + 1), port: 7946)
    }

    /// Adds a member named `name`; it starts ticking at once.
    @discardableResult
    mutating func add(_ name: String, meta: [UInt8] = []) throws -> NodeAddress {
        let address = Self.address(peers.count)
        let instance = try MembershipInstance(
            settings: settings,
            localName: name,
            address: address,
            meta: meta,
            now: clock.now
        )
        indexByAddress[address] = peers.count
        indexByName[name] = peers.count
        peers.append(Peer(instance: instance, wakeAt: clock.now))
        return address
    }

    func instance(_ name: String) -> MembershipInstance { peers[indexByName[name]!].instance }
    func address(of name: String) -> NodeAddress { peers[indexByName[name]!].instance.localAddress }
    var names: [String] { peers.map(\.instance.localName) }

    /// Stops a member dead: no more ticks, nothing in or out (a SIGKILL).
    mutating func kill(_ name: String) { peers[indexByName[name]!].running = false }

    mutating func join(_ name: String, seeds: [String]) {
        let index = indexByName[name]!
        let directives = peers[index].instance.join(seeds: seeds.map { address(of: $0) }, now: clock.now)
        carryOut(directives, from: index)
    }

    mutating func leave(_ name: String) {
        let index = indexByName[name]!
        carryOut(peers[index].instance.leave(now: clock.now), from: index)
    }

    mutating func updateMeta(_ name: String, _ meta: [UInt8]) throws {
        let index = indexByName[name]!
        carryOut(try peers[index].instance.updateMeta(meta, now: clock.now), from: index)
    }

    mutating func broadcast(_ name: String, _ payload: [UInt8]) {
        peers[indexByName[name]!].instance.queueUserBroadcast(payload)
    }

    /// Queues a user broadcast and sends it in a gossip round now, out of turn.
    mutating func broadcastNow(_ name: String, _ payload: [UInt8]) {
        let index = indexByName[name]!
        peers[index].instance.queueUserBroadcast(payload)
        carryOut(peers[index].instance.gossipNow(now: clock.now, using: &rng), from: index)
    }

    /// Runs the simulation until `deadline`, or until `condition` holds (checked after each step);
    /// returns the instant it stopped.
    @discardableResult
    mutating func run(until deadline: Instant, stopWhen condition: ((InMemoryNetwork) -> Bool)? = nil) -> Instant {
        while true {
            if let condition, condition(self) { return clock.now }
            let nextDelivery = head < queue.count ? queue[head].at : Instant.distantFuture
            var nextTick = Instant.distantFuture
            var tickIndex = -1
            for index in peers.indices where peers[index].running && peers[index].wakeAt < nextTick {
                nextTick = peers[index].wakeAt
                tickIndex = index
            }
            let next = min(nextDelivery, nextTick)
            guard next <= deadline else {
                clock.advance(to: max(clock.now, deadline))
                return clock.now
            }
            clock.advance(to: max(clock.now, next))
            if nextDelivery <= nextTick {
                let item = queue[head]
                head += 1
                if head > 4096 {
                    queue.removeFirst(head)
                    head = 0
                }
                deliver(item)
            } else {
                let directives = peers[tickIndex].instance.onTick(now: clock.now, using: &rng)
                // A tick that asks for no later tick must not spin the loop.
                peers[tickIndex].wakeAt = .distantFuture
                carryOut(directives, from: tickIndex)
                if peers[tickIndex].wakeAt <= clock.now {
                    Issue.record("\(peers[tickIndex].instance.localName) asked for a tick in the past")
                    peers[tickIndex].wakeAt = clock.now + .milliseconds(1)
                }
            }
        }
    }

    private func reachable(from: NodeAddress, to: NodeAddress) -> Bool {
        guard let target = indexByAddress[to], peers[target].running,
            let source = indexByAddress[from], peers[source].running
        else { return false }
        if blocked.contains(Link(from: from, to: to)) { return false }
        if let until = isolatedUntil[from], clock.now < until { return false }
        if let until = isolatedUntil[to], clock.now < until { return false }
        return true
    }

    private mutating func enqueue(_ item: InFlight) {
        var index = queue.count
        while index > head && queue[index - 1].at > item.at { index -= 1 }
        queue.insert(item, at: index)
    }

    private mutating func carryOut(_ directives: [MembershipDirective], from index: Int) {
        let me = peers[index].instance.localAddress
        let name = peers[index].instance.localName
        for directive in directives {
            switch directive {
            case .send(let packet):
                datagramsSent += 1
                guard reachable(from: me, to: packet.address) else { continue }
                let options = PacketEncodeOptions(compress: compress, checksum: packet.checksum)
                guard let bytes = try? codec.encodePacket(packet.messages, options: options, using: &rng) else {
                    Issue.record("cannot encode \(packet.messages)")
                    continue
                }
                #expect(bytes.count <= settings.udpBufferSize + 64, "datagram of \(bytes.count) bytes")
                enqueue(InFlight(at: clock.now + latency, to: packet.address, payload: .datagram(bytes, from: me)))
            case .pushPull(let request):
                if reachable(from: me, to: request.address) {
                    let bytes = request.message(userState: Array(name.utf8)).encoded()
                    enqueue(
                        InFlight(
                            at: clock.now + latency,
                            to: request.address,
                            payload: .pushPullRequest(bytes, from: me, id: request.id)
                        )
                    )
                } else {
                    enqueue(InFlight(at: clock.now + latency, to: me, payload: .pushPullFailed(id: request.id)))
                }
            case .streamPing(let request):
                let bytes = StreamMessage.ping(request.ping).encoded()
                if reachable(from: me, to: request.address) {
                    enqueue(
                        InFlight(
                            at: clock.now + latency,
                            to: request.address,
                            payload: .streamPing(bytes, from: me, deadline: request.deadline)
                        )
                    )
                } else {
                    enqueue(
                        InFlight(
                            at: request.deadline,
                            to: me,
                            payload: .streamPingResult(sequenceNumber: request.ping.seqNo, success: false)
                        )
                    )
                }
            case .scheduleTick(let at):
                peers[index].wakeAt = at
            case .memberEvent(let event):
                events.append(ObservedEvent(at: clock.now, observer: name, event: event))
            case .joinCompleted(let result):
                joinResults[name] = result
            case .leaveCompleted(let sent):
                leaves[name] = sent
            case .deliverUserMessage(let payload):
                // Serf re-broadcasts a user event it has not seen before (serf.go handleUserEvent).
                if userMessages[name]?.contains(payload) != true {
                    peers[index].instance.queueUserBroadcast(payload)
                }
                userMessages[name, default: []].append(payload)
            case .mergeUserState, .nameConflict, .probeAcknowledged:
                break
            }
        }
    }

    private mutating func deliver(_ item: InFlight) {
        guard let index = indexByAddress[item.to], peers[index].running else { return }
        switch item.payload {
        case .datagram(let bytes, let from):
            guard reachable(from: from, to: item.to) else { return }
            let messages: [Message]
            do {
                messages = try codec.decodePacket(bytes)
            } catch {
                decodeFailures += 1
                Issue.record("cannot decode a datagram: \(error)")
                return
            }
            for message in messages {
                let directives = peers[index].instance.onMessage(message, from: from, now: clock.now, using: &rng)
                carryOut(directives, from: index)
            }
        case .pushPullRequest(let bytes, let from, let id):
            guard case .pushPull(let remote)? = try? StreamFramer.decode(bytes) else {
                Issue.record("cannot decode a push/pull")
                return
            }
            let name = peers[index].instance.localName
            let inbound = peers[index].instance.onStreamPushPull(
                remote,
                userState: Array(name.utf8),
                now: clock.now,
                using: &rng
            )
            carryOut(inbound.directives, from: index)
            let payload: InFlight.Payload =
                reachable(from: item.to, to: from)
                ? .pushPullReply(inbound.reply.encoded(), id: id) : .pushPullFailed(id: id)
            enqueue(InFlight(at: clock.now + latency, to: from, payload: payload))
        case .pushPullReply(let bytes, let id):
            guard case .pushPull(let remote)? = try? StreamFramer.decode(bytes) else {
                Issue.record("cannot decode a push/pull reply")
                return
            }
            let directives = peers[index].instance.onPushPullReply(remote, request: id, now: clock.now, using: &rng)
            carryOut(directives, from: index)
        case .pushPullFailed(let id):
            carryOut(peers[index].instance.onPushPullFailed(request: id, now: clock.now), from: index)
        case .streamPing(let bytes, let from, let deadline):
            guard case .ping(let ping)? = try? StreamFramer.decode(bytes) else {
                Issue.record("cannot decode a stream ping")
                return
            }
            let ack = peers[index].instance.onStreamPing(ping)
            let success = ack != nil && reachable(from: item.to, to: from) && clock.now + latency <= deadline
            enqueue(
                InFlight(
                    at: success ? clock.now + latency : deadline,
                    to: from,
                    payload: .streamPingResult(sequenceNumber: ping.seqNo, success: success)
                )
            )
        case .streamPingResult(let sequenceNumber, let success):
            let directives = peers[index].instance.onStreamPingResult(
                sequenceNumber: sequenceNumber,
                success: success,
                now: clock.now
            )
            carryOut(directives, from: index)
        }
    }

    // MARK: Views

    /// The state `observer` has for `subject`.
    func state(of subject: String, seenBy observer: String) -> MemberState? {
        instance(observer).member(named: subject)?.state
    }

    /// Whether every running member sees every name in `subjects` in `state`.
    func everyoneSees(_ subjects: [String], as state: MemberState, among observers: [String]? = nil) -> Bool {
        let watchers = observers ?? peers.filter(\.running).map(\.instance.localName)
        return watchers.allSatisfy { observer in
            subjects.allSatisfy { subject in self.state(of: subject, seenBy: observer) == state }
        }
    }

    /// Events of one kind seen by anyone about `subject`.
    func events(about subject: String, where match: (MemberEvent) -> Bool) -> [ObservedEvent] {
        events.filter { $0.event.member.name == subject && match($0.event) }
    }
}
