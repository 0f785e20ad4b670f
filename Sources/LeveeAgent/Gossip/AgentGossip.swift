import Foundation
public import LeveeAPI
public import LeveeClock
public import LeveeConfiguration
import LeveeGossip
public import LeveeGossipNIO
import LeveePolicy
public import Logging
public import ServiceLifecycle
import Synchronization

/// The agent's member of the gossip pool: it joins at start (retrying with backoff), publishes the
/// tags `svc`, `addr`, `health` and `levee`, tells peers when a breaker opens or closes, an endpoint
/// is ejected or restored, or an upstream's attempts fail in a row (`levee-health` user events), keeps
/// what peers report, opens breakers on their word (or on its own streak and their suspicion) under
/// `share: follow`, follows discovered endpoints, and leaves the pool
/// gracefully on shutdown.
public final class AgentGossip: Service, Sendable {
    public let node: GossipNode
    /// Chaos experiments across the pool, when the agent runs experiments.
    public let fleet: FleetExperiments?
    let settings: GossipConfiguration
    let service: String
    let version: String
    let registry: UpstreamRegistry
    let clock: any InstantClock
    let logger: Logger
    private let board: Mutex<PeerHealthBoard>
    private let counters = Mutex(Counters())
    /// How often reports are re-evaluated, tags refreshed and discovery followed.
    let tick: Duration

    struct Counters {
        var reportsSent = 0
        var reportsReceived = 0
        var reportsMalformed = 0
    }

    public init(
        settings: GossipConfiguration,
        service: String,
        version: String,
        registry: UpstreamRegistry,
        clock: any InstantClock,
        logger: Logger,
        tick: Duration = .milliseconds(100),
        experiments: ExperimentRunner? = nil
    ) throws {
        let name = settings.name ?? ProcessInfo.processInfo.hostName
        guard let bind = EndpointAddress.parse(Substring(settings.bind), portRange: 0...65535) else {
            throw ConfigurationError(keyPath: "gossip.bind", value: settings.bind, expected: "host:port")
        }
        let advertise = settings.advertise.flatMap { EndpointAddress(parsing: $0) }
        var configuration = GossipNodeConfiguration(
            name: name,
            bindHost: bind.host,
            bindPort: bind.port,
            advertiseHost: advertise?.host,
            advertisePort: advertise?.port,
            join: settings.join,
            encryptKey: settings.encryptKey,
            profile: GossipNodeConfiguration.Profile(rawValue: settings.profile) ?? .lan,
            tags: Self.tags(service: service, address: settings.serviceAddress, health: "passing", version: version)
        )
        configuration.leaveOnShutdown = true
        try configuration.validate()
        let node = try GossipNode(configuration: configuration)
        self.node = node
        fleet = experiments.map { FleetExperiments(node: node, runner: $0) }
        self.settings = settings
        self.service = service
        self.version = version
        self.registry = registry
        self.clock = clock
        self.logger = logger
        self.tick = tick
        board = Mutex(PeerHealthBoard(ttl: settings.healthTTL, suspicionTTL: GossipConfiguration.suspicionTTL))
    }

    static func tags(service: String, address: String?, health: String, version: String) -> [String: String] {
        var tags = ["svc": service, "health": health, "levee": version]
        if let address { tags["addr"] = address }
        return tags
    }

    var localName: String { node.configuration.name }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.node.run() }
            group.addTask { await self.receive() }
            group.addTask { await self.announce() }
            group.addTask { await self.maintain() }
            // On graceful shutdown the node leaves the pool (peers see `left`) and stops; the other
            // tasks end with the shutdown too.
        }
    }

    // MARK: Sending

    /// Turns local breaker transitions and ejections into `levee-health` events.
    private func announce() async {
        for await event in registry.events.stream.cancelOnGracefulShutdown() {
            switch event {
            case .breaker(let upstream, let transition):
                // Only this agent's own evidence is news: a breaker opened on the peers' word is not
                // repeated (that would count the same sickness twice), nor are operator overrides.
                switch (transition.to, transition.cause) {
                case (.open, .peersReportedOpen), (.forcedOpen, _), (.forcedClosed, _), (.halfOpen, _):
                    continue
                case (.open, _):
                    send(.breaker(node: localName, upstream: upstream, open: true), urgent: true)
                case (.closed, _):
                    send(.breaker(node: localName, upstream: upstream, open: false))
                }
            case .endpoint(let upstream, let endpoint, let ejected):
                send(.endpoint(node: localName, upstream: upstream, endpoint: endpoint, ejected: ejected))
            case .suspect(let upstream, let streak):
                send(.suspect(node: localName, upstream: upstream, streak: streak), urgent: true)
            }
        }
    }

    /// Sends `report`; `urgent` (a suspicion, a breaker that opened) in a gossip round now, where the
    /// next round may be a gossip interval away: a peer deciding on it should not wait for that.
    private func send(_ report: HealthReport, urgent: Bool = false) {
        do {
            try node.sendUserEvent(name: HealthReport.eventName, payload: report.payload, urgent: urgent)
            counters.withLock { $0.reportsSent += 1 }
        } catch {
            logger.warning("could not send \(HealthReport.eventName): \(error)")
        }
    }

    // MARK: Receiving

    private func receive() async {
        for await event in node.events.cancelOnGracefulShutdown() {
            noteMembership(event)
            if case .query(let query) = event {
                answer(query)
                continue
            }
            guard case .userEvent(let name, let payload, _) = event, name == HealthReport.eventName else { continue }
            guard let report = HealthReport(payload: payload) else {
                counters.withLock { $0.reportsMalformed += 1 }
                continue
            }
            guard report.node != localName else { continue }
            counters.withLock { $0.reportsReceived += 1 }
            let now = clock.now()
            board.withLock { $0.record(report, now: now) }
            switch report {
            case .breaker(_, _, let open):
                // Pass urgent news on at once (the pool re-gossips every event it has not seen).
                if open { node.gossipNow() }
                evaluatePeers()
            case .suspect:
                node.gossipNow()
                evaluatePeers()
            case .endpoint:
                break
            }
        }
    }

    /// The fleet's chaos queries (this agent's own included: Serf delivers a query to its sender too).
    private func answer(_ query: GossipQuery) {
        guard let fleet, let payload = fleet.answer(query, localName: localName) else { return }
        do {
            try node.respond(to: query, payload: payload)
        } catch {
            logger.warning("could not answer \(query.name) from \(query.sourceNode): \(error)")
        }
    }

    /// One line per change of a member's status, with its cause.
    private func noteMembership(_ event: GossipEvent) {
        func line(_ level: Logger.Level, _ member: GossipMember, _ change: String, cause: String) {
            logger.log(
                level: level,
                "gossip member \(member.name) \(change)",
                metadata: ["member": "\(member.name)", "address": "\(member.address)", "cause": "\(cause)"]
            )
        }
        switch event {
        case .memberJoined(let member):
            line(.notice, member, "joined", cause: "alive")
        case .memberLeaving(let member):
            line(.notice, member, "is leaving", cause: "leave intent")
        case .memberLeft(let member):
            line(.notice, member, "left", cause: "left gracefully")
        case .memberFailed(let member):
            line(.warning, member, "failed", cause: "failure detector declared it dead")
        case .memberReaped(let member):
            line(.info, member, "reaped", cause: "forgotten after its timeout")
        case .memberUpdated(let member):
            line(
                .info,
                member,
                "updated",
                cause:
                    "tags \(member.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"
            )
        case .userEvent, .query:
            break
        }
    }

    // MARK: Periodic work

    /// Re-evaluates peer reports (they expire), repeats this agent's open breakers well within the
    /// TTL, refreshes the `health` tag and follows discovered endpoints.
    private func maintain() async {
        var lastRepeat = clock.now()
        var lastHealth = "passing"
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: tick)
            let now = clock.now()
            board.withLock { $0.expire(now: now) }
            evaluatePeers()
            if now - lastRepeat >= settings.healthTTL / 3 {
                lastRepeat = now
                for runtime in registry.runtimes()
                where runtime.breakerState == .open && runtime.breakerSource == .local {
                    send(.breaker(node: localName, upstream: runtime.name, open: true))
                }
            }
            let health = currentHealth()
            if health != lastHealth {
                lastHealth = health
                try? node.setTags(
                    Self.tags(service: service, address: settings.serviceAddress, health: health, version: version)
                )
            }
            discover()
        }
    }

    private func evaluatePeers() {
        let live = Set(node.members.filter { $0.status == .alive && $0.name != localName }.map(\.name))
        let now = clock.now()
        let follow = settings.share == "follow"
        let quorum = settings.share == "off" ? Int.max : settings.quorum
        for runtime in registry.runtimes() {
            let (peers, suspecting) = board.withLock {
                (
                    $0.peersReportingOpen(runtime.name, live: live, now: now),
                    $0.peersSuspecting(runtime.name, live: live, now: now)
                )
            }
            let off = settings.share == "off"
            runtime.applyPeerReports(
                off ? [] : peers,
                suspecting: off ? [] : suspecting,
                quorum: quorum,
                follow: follow,
                suspectAfter: settings.suspectAfter
            )
        }
    }

    /// The `health` tag: the service level under the `degradation` rules (passing, degraded, critical).
    func currentHealth() -> String {
        registry.serviceLevel().level.healthTag
    }

    /// Upstreams with `discover: SERVICE` take the live members whose `svc` tag is SERVICE, at their
    /// `addr` tag.
    private func discover() {
        let members = node.members.filter { $0.status == .alive }
        for runtime in registry.runtimes() {
            guard let wanted = runtime.configuration.discover else { continue }
            let endpoints = members.compactMap { member -> EndpointAddress? in
                guard member.tags["svc"] == wanted, let address = member.tags["addr"] else { return nil }
                return EndpointAddress(parsing: address)
            }
            runtime.replaceEndpoints(Array(Set(endpoints)).sorted { $0.description < $1.description })
        }
    }

    // MARK: Admin

    /// The pool as this agent sees it, for `levee members`.
    public func membersResponse() -> Levee_V1_MembersResponse {
        var response = Levee_V1_MembersResponse()
        response.gossipEnabled = true
        response.localName = localName
        response.members = node.members.sorted { $0.name < $1.name }.map { member in
            var entry = Levee_V1_Member()
            entry.name = member.name
            entry.address = "\(member.address)"
            entry.status = "\(member.status)"
            entry.tags = member.tags
            return entry
        }
        return response
    }
}
