public import LeveeClock
public import LeveeConfiguration
public import LeveePolicy
public import Logging
import Synchronization

/// Every upstream's runtime, by name: those of the configuration, and those made on the fly for
/// `host:port` names when dynamic upstreams are on. A reload swaps the set at once; runtimes it removes
/// finish their calls and are then shut down.
public final class UpstreamRegistry: Sendable {
    struct Contents: Sendable {
        var configuration: AgentConfiguration
        var runtimes: [String: UpstreamRuntime]
        var retired: [UpstreamRuntime] = []
        var generation: UInt64 = 0
        /// The service level last logged, to log each change once.
        var level: ServiceLevelVerdict = .full
    }

    private let contents: Mutex<Contents>
    private let clock: any InstantClock
    /// Draws each new runtime's random seed.
    private let seeds: Mutex<SplitMix64>
    private let logger: Logger
    private let clientRunner: GRPCClientRunner
    private let makeExecutor: (@Sendable (UpstreamConfiguration) -> any UpstreamExecutor)?
    /// Where the runtimes' counters and histograms go; nil exports nothing.
    let metrics: AgentMetrics?
    /// The agent's chaos faults, which every runtime asks at each attempt; nil: none.
    public let faults: FaultTable?
    /// Breaker transitions and endpoint ejections of every runtime, for the gossip pool.
    public let events: AgentEvents
    /// Rung when anything `Watch` shows may have changed, in any runtime or by a reload.
    public let changes = ChangeSignal()

    /// Builds a runtime for every configured upstream; throws (and builds nothing) if one is invalid.
    ///
    /// - Parameters:
    ///   - randomSeed: seeds the runtimes' randomness (jitter, endpoint choice, permit ids); a test
    ///     passes a fixed one to make a run repeat.
    ///   - makeExecutor: the executor of each runtime; by default the HTTP or gRPC one its protocol needs.
    public init(
        configuration: AgentConfiguration,
        clock: any InstantClock,
        randomSeed: UInt64 = .random(in: .min ... .max),
        logger: Logger,
        clientRunner: GRPCClientRunner,
        metrics: AgentMetrics? = nil,
        faults: FaultTable? = nil,
        makeExecutor: (@Sendable (UpstreamConfiguration) -> any UpstreamExecutor)? = nil
    ) throws(ConfigurationFileError) {
        self.metrics = metrics
        self.faults = faults
        self.clock = clock
        self.seeds = Mutex(SplitMix64(seed: randomSeed))
        self.makeExecutor = makeExecutor
        self.logger = logger
        self.clientRunner = clientRunner
        events = AgentEvents()
        contents = Mutex(Contents(configuration: configuration, runtimes: [:]))
        var runtimes: [String: UpstreamRuntime] = [:]
        for upstream in configuration.upstreams {
            runtimes[upstream.name] = try makeRuntime(upstream, in: configuration)
        }
        contents.withLock { $0.runtimes = runtimes }
    }

    /// A runtime and its executor for `upstream`; a policy error is reported under the upstream's key
    /// path in `configuration`'s file.
    private func makeRuntime(
        _ upstream: UpstreamConfiguration,
        in configuration: AgentConfiguration
    ) throws(ConfigurationFileError) -> UpstreamRuntime {
        let executor: any UpstreamExecutor =
            if let makeExecutor {
                makeExecutor(upstream)
            } else {
                switch upstream.protocolKind {
                case .http where upstream.tls:
                    AsyncHTTPClientExecutor(
                        tls: true,
                        tlsCAFile: upstream.tlsCAFile,
                        connectTimeout: upstream.policy.timeouts.connect,
                        readTimeout: upstream.policy.timeouts.attempt,
                        maxConnectionsPerEndpoint: upstream.policy.bulkhead.maxConcurrent
                    )
                case .http:
                    HTTP1Executor(
                        settings: HTTP1Executor.Settings(
                            connectTimeout: upstream.policy.timeouts.connect,
                            maxIdlePerEndpoint: upstream.policy.bulkhead.maxConcurrent
                        )
                    )
                case .grpc:
                    GRPCExecutor(runner: clientRunner)
                }
            }
        do {
            return try UpstreamRuntime(
                configuration: upstream,
                executor: executor,
                clock: clock,
                randomSeed: seeds.withLock { $0.next() },
                logger: logger,
                events: events,
                changes: changes,
                metrics: metrics?.upstream(upstream.name) ?? .disabled,
                faults: faults
            )
        } catch {
            let prefix = upstream.isDynamic ? "defaults" : "upstreams.\(upstream.name)"
            let scoped = error.prefixed(by: prefix)
            throw ConfigurationFileError(
                file: configuration.sourcePath ?? "(built-in defaults)",
                keyPath: scoped.keyPath,
                value: scoped.value,
                expected: scoped.expected,
                line: nil
            )
        }
    }

    /// The configuration in force.
    public var configuration: AgentConfiguration {
        contents.withLock { $0.configuration }
    }

    /// How many reloads have been applied.
    public var generation: UInt64 {
        contents.withLock { $0.generation }
    }

    /// Every runtime, sorted by name.
    public func runtimes() -> [UpstreamRuntime] {
        contents.withLock { Array($0.runtimes.values) }.sorted { $0.name < $1.name }
    }

    /// The runtime named `name`, if it exists now.
    public func existingRuntime(named name: String) -> UpstreamRuntime? {
        contents.withLock { $0.runtimes[name] }
    }

    /// The runtimes that may hold a permit of the upstream `name`: the one in force, then those a
    /// reload retired while they still held permits. A permit is released to the runtime that granted
    /// it, whose bulkhead slot and breaker it took.
    public func permitHolders(named name: String) -> [UpstreamRuntime] {
        contents.withLock { contents in
            (contents.runtimes[name].map { [$0] } ?? []) + contents.retired.filter { $0.name == name }
        }
    }

    /// The runtime for a call: a configured upstream, or one made now for a `host:port` name when
    /// dynamic upstreams are on. Throws what to answer: not found, or an invalid argument when the
    /// upstream speaks another protocol than the request.
    public func runtime(
        named name: String,
        protocolKind: UpstreamProtocol?
    ) throws(UpstreamLookupError) -> UpstreamRuntime {
        try lookUp(named: name, protocolKind: protocolKind, checkOut: false)
    }

    /// Runs `body` with the runtime for a call (as ``runtime(named:protocolKind:)`` finds it), holding it
    /// until `body` returns: a reload may retire the runtime meanwhile, and the call still finishes on it,
    /// but its connections are not closed under the call.
    public func withRuntime<R>(
        named name: String,
        protocolKind: UpstreamProtocol?,
        _ body: (UpstreamRuntime) async -> R
    ) async throws(UpstreamLookupError) -> R {
        let runtime = try checkOut(named: name, protocolKind: protocolKind)
        defer { checkIn(runtime) }
        return await body(runtime)
    }

    /// The runtime for a call, held (as ``withRuntime(named:protocolKind:_:)`` holds it) until
    /// ``checkIn(_:)``: for a caller that cannot wrap its call in a closure.
    func checkOut(named name: String, protocolKind: UpstreamProtocol?) throws(UpstreamLookupError) -> UpstreamRuntime {
        try lookUp(named: name, protocolKind: protocolKind, checkOut: true)
    }

    /// Gives back a runtime from ``checkOut(named:protocolKind:)``.
    func checkIn(_ runtime: UpstreamRuntime) {
        runtime.checkouts.subtract(1, ordering: .releasing)
    }

    /// What the registry's lock found for a name.
    private enum Lookup {
        case found(UpstreamRuntime)
        /// A dynamic upstream to make, outside the lock.
        case make(UpstreamConfiguration, in: AgentConfiguration)
        case unknown(UpstreamLookupError)
    }

    /// The lookup; with `checkOut`, the runtime is counted as in use under the registry's lock, so that
    /// ``housekeeping()`` never sees a retired runtime idle while a caller holds it. A dynamic upstream's
    /// runtime is built outside the lock; when two callers make the same one at once, the first to
    /// register it wins and the other's is retired unused.
    private func lookUp(
        named name: String,
        protocolKind: UpstreamProtocol?,
        checkOut: Bool
    ) throws(UpstreamLookupError) -> UpstreamRuntime {
        guard !name.isEmpty else {
            throw UpstreamLookupError(.invalidArgument, "upstream: required (an upstream's name, or host:port)")
        }
        let lookup: Lookup = contents.withLock { contents in
            if let runtime = contents.runtimes[name] {
                if checkOut { runtime.checkouts.add(1, ordering: .acquiring) }
                return .found(runtime)
            }
            guard
                let upstream = contents.configuration.dynamicUpstream(named: name, protocolKind: protocolKind ?? .http)
            else {
                let known = contents.runtimes.values.filter { !$0.configuration.isDynamic }.map(\.name).sorted()
                let hint =
                    contents.configuration.dynamicUpstreams
                    ? " (names that are not configured must look like host:port)"
                    : " (dynamic upstreams are off: add it under upstreams in the configuration)"
                let list = known.isEmpty ? "none" : known.joined(separator: ", ")
                return .unknown(
                    UpstreamLookupError(
                        .notFound,
                        "upstream: no upstream named \(name.debugDescription); known: \(list)\(hint)"
                    )
                )
            }
            return .make(upstream, in: contents.configuration)
        }
        let runtime: UpstreamRuntime
        switch lookup {
        case .found(let found):
            runtime = found
        case .unknown(let error):
            throw error
        case .make(let upstream, let configuration):
            let made: UpstreamRuntime
            do {
                made = try makeRuntime(upstream, in: configuration)
            } catch {
                throw UpstreamLookupError(.failedPrecondition, "upstream: \(error)")
            }
            runtime = contents.withLock { contents in
                let winner: UpstreamRuntime
                if let existing = contents.runtimes[name] {
                    contents.retired.append(made)
                    winner = existing
                } else {
                    contents.runtimes[name] = made
                    winner = made
                }
                if checkOut { winner.checkouts.add(1, ordering: .acquiring) }
                return winner
            }
        }
        if let protocolKind, runtime.configuration.protocolKind != protocolKind {
            if checkOut { runtime.checkouts.subtract(1, ordering: .releasing) }
            throw UpstreamLookupError(
                .invalidArgument,
                "request: upstream \(name) speaks \(runtime.configuration.protocolKind.rawValue), but the request is \(protocolKind.rawValue)"
            )
        }
        return runtime
    }

    /// What a reload did.
    public struct ReloadSummary: Sendable {
        public var generation: UInt64
        public var added: [String] = []
        public var removed: [String] = []
        public var changed: [String] = []
        public var unchanged: [String] = []
    }

    /// Swaps in a new configuration at once. Unchanged upstreams keep their runtime (breaker, budget,
    /// window); changed ones get a new runtime for new calls; removed ones finish their calls first.
    /// Throws, changing nothing, if a runtime cannot be built.
    public func reload(_ configuration: AgentConfiguration) throws(ConfigurationFileError) -> ReloadSummary {
        let current = contents.withLock { $0.runtimes }
        var next: [String: UpstreamRuntime] = [:]
        var summary = ReloadSummary(generation: 0)
        for upstream in configuration.upstreams {
            if let existing = current[upstream.name], existing.configuration == upstream {
                next[upstream.name] = existing
                summary.unchanged.append(upstream.name)
            } else {
                next[upstream.name] = try makeRuntime(upstream, in: configuration)
                if current[upstream.name] == nil {
                    summary.added.append(upstream.name)
                } else {
                    summary.changed.append(upstream.name)
                }
            }
        }
        // Dynamic upstreams survive a reload while dynamic upstreams stay on.
        for (name, runtime) in current where runtime.configuration.isDynamic && next[name] == nil {
            if configuration.dynamicUpstreams { next[name] = runtime }
        }
        summary = contents.withLock { contents in
            for (name, runtime) in contents.runtimes where next[name] !== runtime {
                contents.retired.append(runtime)
                if next[name] == nil && !runtime.configuration.isDynamic { summary.removed.append(name) }
            }
            contents.configuration = configuration
            contents.runtimes = next
            contents.generation += 1
            summary.generation = contents.generation
            return summary
        }
        faults?.apply(configuration)
        changes.notify()
        return summary
    }

    /// The service's level now: the configuration's `degradation` rules over the upstreams' breakers.
    public func serviceLevel() -> ServiceLevelVerdict {
        let (rules, runtimes) = contents.withLock { ($0.configuration.degradationRules, $0.runtimes) }
        return rules.evaluate { name in runtimes[name]?.isDown ?? false }
    }

    /// How often retired runtimes are asked whether they are idle, while there are any.
    static let retiredPollInterval = Duration.milliseconds(100)

    /// Periodic work for every runtime; logs a change of the service level; shuts down the executors
    /// of retired runtimes once idle. Returns when it is next due for time's sake (a lease expiry,
    /// the end of an ejection, a retired runtime still busy); nil when only a change can make work.
    @discardableResult
    public func housekeeping() async -> Instant? {
        let (live, retired, stillRetired) = contents.withLock { contents in
            let idle = Self.takeIdle(from: &contents.retired, isIdle: \.isIdle)
            return (Array(contents.runtimes.values), idle, contents.retired)
        }
        var nextDue: Instant? = stillRetired.isEmpty ? nil : clock.now() + Self.retiredPollInterval
        // A retired runtime still busy keeps its periodic work: a lease granted before the reload and
        // never released must still expire, or the runtime would never turn idle.
        for runtime in live + stillRetired {
            if let due = runtime.housekeeping(), nextDue.map({ due < $0 }) ?? true { nextDue = due }
        }
        let level = serviceLevel()
        let previous = contents.withLock { contents in
            defer { contents.level = level }
            return contents.level
        }
        if level != previous {
            let why =
                level.reasons.isEmpty ? "every upstream the rules name is up" : level.reasons.joined(separator: "; ")
            logger.info(
                "service level \(level.level) (was \(previous.level)): \(why)",
                metadata: ["level": "\(level.level)", "previous_level": "\(previous.level)"]
            )
        }
        for runtime in retired {
            logger.info("upstream \(runtime.name) drained after a reload: closing its connections")
            await runtime.executor.shutdown()
        }
        return nextDue
    }

    /// Removes from `retired` and returns those that are idle, asking each once: a runtime that turns
    /// idle during the pass stays for the next one rather than being dropped unclosed.
    public static func takeIdle<Runtime: AnyObject>(
        from retired: inout [Runtime],
        isIdle: (Runtime) -> Bool
    ) -> [Runtime] {
        var idle: [Runtime] = []
        var busy: [Runtime] = []
        for runtime in retired {
            if isIdle(runtime) { idle.append(runtime) } else { busy.append(runtime) }
        }
        retired = busy
        return idle
    }

    /// Closes every executor's connections (at agent shutdown, after the servers have drained).
    public func shutdown() async {
        let all = contents.withLock { contents in
            defer {
                contents.runtimes.removeAll()
                contents.retired.removeAll()
            }
            return Array(contents.runtimes.values) + contents.retired
        }
        for runtime in all { await runtime.executor.shutdown() }
    }
}
