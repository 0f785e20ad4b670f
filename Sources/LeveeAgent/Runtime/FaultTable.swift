public import LeveeClock
public import LeveeConfiguration
public import LeveePolicy
public import Logging
import Synchronization

/// The chaos faults active in the agent: one table per agent, in memory only. Faults expire on time
/// (``FaultExpiryService`` wakes at the next expiry), a restart clears them, a reload keeps them (cut to
/// a lowered `chaos.max_duration`, cleared when it turns `chaos.enabled` off). Every runtime asks it,
/// at each attempt, whether a fault hits that attempt (``decide(upstream:endpoint:header:)``).
///
/// Time comes from the agent's clock, the percent draws from a generator seeded like the runtimes'.
/// An agent with no active fault pays one atomic load per attempt.
public final class FaultTable: Sendable {
    private let state: Mutex<State>
    private let clock: any InstantClock
    private let logger: Logger
    private let metrics: AgentMetrics?
    /// How many faults the table holds (expired ones until they are swept): read without the lock on
    /// every attempt, so that an agent without faults never takes it.
    private let count = Atomic<Int>(0)
    /// Rung on every add, clear and expiry: the expiry service waits on it.
    public let changes = ChangeSignal()

    struct Entry: Sendable {
        var id: String
        var spec: FaultSpec
        var addedAt: Instant
        var expiresAt: Instant
        var hits: UInt64
        var source: String
    }

    struct State: Sendable {
        var configuration: AgentConfiguration
        /// In the order they were added.
        var entries: [Entry] = []
        var nextID = 1
        var random: SplitMix64
    }

    /// - Parameters:
    ///   - configuration: the agent's configuration: its `chaos` section and its upstreams.
    ///   - randomSeed: the seed of the percent draws; a test passes a fixed one to make a run repeat.
    public init(
        configuration: AgentConfiguration,
        clock: any InstantClock,
        randomSeed: UInt64 = .random(in: .min ... .max),
        logger: Logger,
        metrics: AgentMetrics? = nil
    ) {
        state = Mutex(State(configuration: configuration, random: SplitMix64(seed: randomSeed)))
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
    }

    /// The `chaos` section in force.
    public var chaos: ChaosConfiguration {
        state.withLock { $0.configuration.chaos }
    }

    // MARK: Operator

    /// Adds a fault and returns it as stored (its id, the default duration filled in, capped at
    /// `chaos.max_duration`); logs one line.
    public func add(_ spec: FaultSpec, source: String) throws(FaultTableError) -> ActiveFault {
        let now = clock.now()
        let result: Result<ActiveFault, FaultTableError> = state.withLock { state in
            let chaos = state.configuration.chaos
            guard chaos.enabled else { return .failure(.disabled) }
            var spec = spec
            do throws(FaultTableError) {
                try Self.resolve(&spec, in: state.configuration)
            } catch {
                return .failure(error)
            }
            spec.duration = min(spec.duration ?? FaultSpec.defaultDuration, chaos.maxDuration)
            let active = state.entries.count(where: { $0.expiresAt > now })
            guard active < chaos.maxActive else { return .failure(.tooManyActive(max: chaos.maxActive)) }
            let entry = Entry(
                id: "f\(state.nextID)",
                spec: spec,
                addedAt: now,
                expiresAt: now + (spec.duration ?? FaultSpec.defaultDuration),
                hits: 0,
                source: source.isEmpty ? "cli" : source
            )
            state.nextID += 1
            state.entries.append(entry)
            count.store(state.entries.count, ordering: .releasing)
            return .success(ActiveFault(entry, now: now))
        }
        let fault = try result.get()
        logger.notice(
            "fault \(fault.id) added: \(fault.spec.upstream) \(fault.spec.description)",
            metadata: Self.metadata(fault)
        )
        changes.notify()
        return fault
    }

    /// Clears the fault `id`; false when there is no such active fault. Logs one line.
    @discardableResult
    public func clear(id: String) -> Bool {
        let now = clock.now()
        let removed: Entry? = state.withLock { state in
            guard let index = state.entries.firstIndex(where: { $0.id == id && $0.expiresAt > now }) else {
                return nil
            }
            defer { count.store(state.entries.count, ordering: .releasing) }
            return state.entries.remove(at: index)
        }
        guard let removed else { return false }
        log(cleared: removed, why: "cleared", now: now)
        changes.notify()
        return true
    }

    /// Clears every active fault; returns their ids. Logs one line per fault.
    @discardableResult
    public func clearAll() -> [String] {
        clearAll(why: "cleared")
    }

    /// The active faults, of `upstream` only when given, in the order they were added.
    public func list(upstream: String? = nil) -> [ActiveFault] {
        guard count.load(ordering: .acquiring) > 0 else { return [] }
        let now = clock.now()
        return state.withLock { state in
            state.entries.filter { $0.expiresAt > now && (upstream == nil || $0.spec.upstream == upstream) }
                .map { ActiveFault($0, now: now) }
        }
    }

    // MARK: Configuration

    /// Takes in a reloaded configuration: its `chaos` bounds apply from now on to new faults, and a
    /// lowered `max_duration` to the active ones too (a fault lives at most that long from when it was
    /// added: one already older expires at once; one line each). The faults stay, unless the reload
    /// turned `chaos.enabled` off, which clears them. A lowered `max_active` refuses new faults until
    /// the active ones are fewer; it clears none.
    public func apply(_ configuration: AgentConfiguration) {
        let now = clock.now()
        let maxDuration = configuration.chaos.maxDuration
        let (wasEnabled, cut): (Bool, [Entry]) = state.withLock { state in
            defer { state.configuration = configuration }
            var cut: [Entry] = []
            for index in state.entries.indices where state.entries[index].expiresAt > now {
                let entry = state.entries[index]
                guard (entry.spec.duration ?? FaultSpec.defaultDuration) > maxDuration else { continue }
                state.entries[index].spec.duration = maxDuration
                state.entries[index].expiresAt = entry.addedAt + maxDuration
                cut.append(state.entries[index])
            }
            return (state.configuration.chaos.enabled, cut)
        }
        if wasEnabled && !configuration.chaos.enabled {
            clearAll(why: "cleared: a reload turned chaos.enabled off")
        } else if !cut.isEmpty {
            for entry in cut {
                log(
                    cleared: entry,
                    why: "cut to chaos.max_duration \(maxDuration.configDescription) by a reload",
                    now: now
                )
            }
            changes.notify()
        }
    }

    // MARK: Expiry

    /// Removes the faults whose time is up, logging one line each; returns when the next one is due
    /// (nil when none is active).
    @discardableResult
    public func expire() -> Instant? {
        guard count.load(ordering: .acquiring) > 0 else { return nil }
        let now = clock.now()
        let (expired, next): ([Entry], Instant?) = state.withLock { state in
            let expired = state.entries.filter { $0.expiresAt <= now }
            if !expired.isEmpty {
                state.entries.removeAll { $0.expiresAt <= now }
                count.store(state.entries.count, ordering: .releasing)
            }
            return (expired, state.entries.lazy.map(\.expiresAt).min())
        }
        for entry in expired { log(cleared: entry, why: "expired", now: now) }
        if !expired.isEmpty { changes.notify() }
        return next
    }

    // MARK: The attempt

    /// Whether any fault is in the table: one atomic load, for the hot path.
    var isEmpty: Bool {
        count.load(ordering: .relaxed) == 0
    }

    /// The fault that hits an attempt at `upstream`'s `endpoint` (`host:port`), if any: the first
    /// active fault, in the order they were added, whose filters match and whose percent draw hits.
    /// `header` gives the request's value for a header name. Counts the hit.
    func decide(upstream: String, endpoint: String, header: (String) -> String?) -> InjectedFault? {
        guard !isEmpty else { return nil }
        let now = clock.now()
        let decided: InjectedFault? = state.withLock { state in
            for index in state.entries.indices {
                let entry = state.entries[index]
                guard entry.expiresAt > now, entry.spec.matches(upstream: upstream, endpoint: endpoint, header: header)
                else { continue }
                guard entry.spec.hits(using: &state.random) else { continue }
                state.entries[index].hits += 1
                return InjectedFault(id: entry.id, spec: entry.spec)
            }
            return nil
        }
        if let decided { metrics?.recordFault(upstream: upstream, kind: decided.spec.action.kind) }
        return decided
    }

    // MARK: Helpers

    /// Checks `spec` against the configuration: the upstream exists (a configured one, or a `host:port`
    /// name when dynamic upstreams are on, spelled canonically), the abort suits its protocol, the
    /// endpoint is one of its own. Names the field that is wrong.
    private static func resolve(_ spec: inout FaultSpec, in configuration: AgentConfiguration) throws(FaultTableError) {
        if let problem = spec.problem { throw .invalid(problem) }
        let upstream: UpstreamConfiguration
        if let configured = configuration.upstream(named: spec.upstream) {
            upstream = configured
        } else if let dynamic = configuration.dynamicUpstream(named: spec.upstream, protocolKind: .http) {
            upstream = dynamic
            spec.upstream = dynamic.name
        } else {
            throw .unknownUpstream(spec.upstream)
        }
        if let endpoint = spec.endpoint {
            guard let address = EndpointAddress(parsing: endpoint) else {
                throw .invalid("endpoint: host:port, not \(endpoint.debugDescription)")
            }
            spec.endpoint = address.description
            if upstream.discover == nil, !upstream.isDynamic, !upstream.endpoints.contains(address) {
                let known = upstream.endpoints.map(\.description).joined(separator: ", ")
                throw .invalid("endpoint: \(address) is not an endpoint of \(upstream.name) (\(known))")
            }
        }
        // A dynamic upstream speaks what its calls speak: either abort may fit it.
        guard !upstream.isDynamic else { return }
        switch (spec.action, upstream.protocolKind) {
        case (.abort, .grpc):
            throw .invalid("abort: \(upstream.name) is a gRPC upstream: abort with a gRPC code (--abort-grpc)")
        case (.abortGRPC, .http):
            throw .invalid("abort_grpc: \(upstream.name) is an HTTP upstream: abort with an HTTP status (--abort)")
        default:
            break
        }
    }

    @discardableResult
    private func clearAll(why: String) -> [String] {
        let now = clock.now()
        let removed: [Entry] = state.withLock { state in
            defer {
                state.entries.removeAll()
                count.store(0, ordering: .releasing)
            }
            return state.entries.filter { $0.expiresAt > now }
        }
        for entry in removed { log(cleared: entry, why: why, now: now) }
        changes.notify()
        return removed.map(\.id)
    }

    private func log(cleared entry: Entry, why: String, now: Instant) {
        let fault = ActiveFault(entry, now: now)
        logger.notice(
            "fault \(entry.id) \(why): \(entry.spec.upstream) \(entry.spec.description)",
            metadata: Self.metadata(fault)
        )
    }

    private static func metadata(_ fault: ActiveFault) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "fault": "\(fault.id)", "upstream": "\(fault.spec.upstream)", "kind": "\(fault.spec.action.kind)",
            "percent": "\(fault.spec.percent)", "hits": "\(fault.hits)", "source": "\(fault.source)",
            "duration": "\((fault.spec.duration ?? FaultSpec.defaultDuration).configDescription)",
        ]
        if let endpoint = fault.spec.endpoint { metadata["endpoint"] = "\(endpoint)" }
        if let header = fault.spec.header { metadata["header"] = "\(header.name)=\(header.value)" }
        return metadata
    }
}

/// A fault as the table holds it: what `levee fault list` shows.
public struct ActiveFault: Sendable {
    /// `f1`, `f2`, …: unique within the agent's life.
    public var id: String
    /// As stored: the duration filled in and capped.
    public var spec: FaultSpec
    /// Time left until it expires.
    public var remaining: Duration
    /// Attempts it has hit so far.
    public var hits: UInt64
    /// Who added it: `cli`, `experiment NAME`.
    public var source: String

    init(_ entry: FaultTable.Entry, now: Instant) {
        id = entry.id
        spec = entry.spec
        remaining = entry.expiresAt - now
        hits = entry.hits
        source = entry.source
    }
}

/// Why a fault could not be added.
public enum FaultTableError: Error, CustomStringConvertible {
    /// The configuration does not allow faults.
    case disabled
    /// `chaos.max_active` faults are active already.
    case tooManyActive(max: Int)
    /// No upstream has that name.
    case unknownUpstream(String)
    /// A field of the spec is wrong; the message names it.
    case invalid(String)

    public var description: String {
        switch self {
        case .disabled:
            "chaos.enabled is false in the agent's configuration: no fault can be injected "
                + "(set chaos: { enabled: true } and reload)"
        case .tooManyActive(let max):
            "chaos.max_active: \(max) faults are active already; clear one first (levee fault clear ID)"
        case .unknownUpstream(let name):
            "upstream: no upstream named \(name.debugDescription)"
        case .invalid(let message):
            message
        }
    }
}

/// The fault that hits one attempt, as the runtime applies it.
struct InjectedFault: Sendable {
    var id: String
    var spec: FaultSpec

    /// Its id and kind, as `CallResponse.fault` and `x-levee-fault` say it: `f3 abort 500`.
    var label: String { "\(id) \(spec.description)" }
}
