/// Passive outlier detection over one upstream's endpoints (indices `0..<endpointCount`), after Envoy's
/// consecutive-5xx detector (`source/common/upstream/outlier_detection_impl.cc`).
///
/// The rules:
/// - Each endpoint counts its consecutive failed attempts: `.failure` adds one, `.success` resets the
///   count, `.ignored` changes nothing. Reaching `consecutive_failures` ejects the endpoint, and the
///   count starts again from zero (whether or not the ejection happened).
/// - An ejection lasts `base_ejection_time × multiplier`, capped at `max_ejection_time`. The multiplier
///   grows by one with each ejection and drops by one for each whole `interval` the endpoint spends
///   restored (Envoy decrements it on every healthy detection interval; this computes the same drop when
///   the next ejection happens, so no timer is needed). It stops growing once the cap is reached, which
///   makes recovery one interval quicker than Envoy, whose multiplier grows one step past the cap.
/// - `max_ejection_percent` caps the share ejected at once. As in Envoy's code, an ejection is skipped
///   when it would take the ejected share over the cap: `(ejected + 1) × 100 > percent × endpoints`.
///   So with 50 % one of two endpoints may be ejected but a lone endpoint never is (Envoy's docs claim
///   "at least one host", its code does not; envoy#34666 added `always_eject_one_host` for that).
///   The load balancer's panic mode covers the case where everything is unavailable anyway.
/// - An ejection ends when its time has passed: `isEjected(_:now:)` says so at once, and
///   `restoreDue(now:)` reports the restoration (for logs and gossip) and resets the endpoint's count.
///   Outcomes recorded for an endpoint while it is ejected (late answers, panic traffic) are ignored
///   until that report.
/// - Active health checks are a separate mark (`recordHealthCheck`): a failing check makes an endpoint
///   unavailable regardless of the percent cap; a passing check clears the mark and also ends an outlier
///   ejection, as Envoy's `successful_active_health_check_uneject_host` (default true) does.
///
/// A value: no clock, no I/O; `record` and `isAvailable` are allocation-free O(1), ejection counting and
/// restoration scan the endpoints (rare events).
public struct OutlierDetector: Sendable {
    /// The settings in force.
    public let configuration: OutlierDetectionConfiguration
    /// Endpoints currently marked ejected, including any whose time has passed but whose restoration
    /// `restoreDue(now:)` has not reported yet; this is the count the percent cap applies to.
    public private(set) var ejectedCount: Int = 0

    private var endpoints: ContiguousArray<EndpointRecord>
    private let maxMultiplier: Int32

    /// A detector for `endpointCount` endpoints, all healthy.
    public init(
        configuration: OutlierDetectionConfiguration = .defaults,
        endpointCount: Int
    ) throws(ConfigurationError) {
        try configuration.validate()
        precondition(endpointCount >= 0, "endpointCount must not be negative")
        self.configuration = configuration
        self.endpoints = ContiguousArray(repeating: EndpointRecord(), count: endpointCount)
        let base = configuration.baseEjectionTime.nanoseconds
        let cap = configuration.maxEjectionTime.nanoseconds
        self.maxMultiplier = Int32(clamping: (cap - 1) / base + 1)
    }

    /// How many endpoints the detector watches.
    public var endpointCount: Int {
        endpoints.count
    }

    // MARK: Queries

    /// Whether `endpoint` is ejected by outlier detection at `now`.
    public func isEjected(_ endpoint: Int, now: Instant) -> Bool {
        let record = endpoints[endpoint]
        return record.isEjected && now < record.ejectedUntil
    }

    /// Whether `endpoint` may take traffic at `now`: neither ejected nor failing its health check.
    public func isAvailable(_ endpoint: Int, now: Instant) -> Bool {
        let record = endpoints[endpoint]
        return !record.failingHealthCheck && !(record.isEjected && now < record.ejectedUntil)
    }

    /// The endpoints available at `now` (allocation-free for up to 64 endpoints).
    public func availableEndpoints(now: Instant) -> EndpointSet {
        var set = EndpointSet()
        for endpoint in 0..<endpoints.count where isAvailable(endpoint, now: now) {
            set.insert(endpoint)
        }
        return set
    }

    /// When the earliest current ejection ends: when the shell should next call `restoreDue(now:)`.
    public var nextRestoreTime: Instant? {
        var earliest: Instant?
        for record in endpoints where record.isEjected {
            if earliest.map({ record.ejectedUntil < $0 }) ?? true { earliest = record.ejectedUntil }
        }
        return earliest
    }

    /// What the detector knows about `endpoint` at `now`, for the admin API and `Watch`.
    public func snapshot(of endpoint: Int, now: Instant) -> EndpointHealth {
        let record = endpoints[endpoint]
        return EndpointHealth(
            consecutiveFailures: Int(record.consecutiveFailures),
            ejectedUntil: record.isEjected && now < record.ejectedUntil ? record.ejectedUntil : nil,
            multiplier: Int(record.isEjected ? record.multiplier : decayedMultiplier(record, now: now)),
            ejections: Int(record.ejections),
            failingHealthCheck: record.failingHealthCheck
        )
    }

    // MARK: Events

    /// Records how an attempt at `endpoint` ended; returns an event when this ejected the endpoint or
    /// would have but for `max_ejection_percent`.
    public mutating func record(endpoint: Int, outcome: AttemptOutcome, now: Instant) -> OutlierEvent? {
        switch outcome {
        case .ignored:
            return nil
        case .success:
            endpoints[endpoint].consecutiveFailures = 0
            return nil
        case .failure:
            guard !endpoints[endpoint].isEjected else { return nil }
            endpoints[endpoint].consecutiveFailures += 1
            guard Int(endpoints[endpoint].consecutiveFailures) >= configuration.consecutiveFailures else { return nil }
            endpoints[endpoint].consecutiveFailures = 0
            return eject(endpoint, now: now)
        }
    }

    /// Reports one endpoint whose ejection time has passed (`<= now`) and makes it a candidate again;
    /// `nil` when there is none. Call it in a loop at `nextRestoreTime`.
    public mutating func restoreDue(now: Instant) -> OutlierEvent? {
        for endpoint in 0..<endpoints.count {
            let record = endpoints[endpoint]
            if record.isEjected && record.ejectedUntil <= now {
                restore(endpoint, now: now)
                return OutlierEvent(endpoint: endpoint, kind: .restored)
            }
        }
        return nil
    }

    /// Records the result of an active health check of `endpoint`; returns an event when the endpoint's
    /// standing changed.
    public mutating func recordHealthCheck(endpoint: Int, passed: Bool, now: Instant) -> OutlierEvent? {
        if passed {
            if endpoints[endpoint].isEjected {
                endpoints[endpoint].failingHealthCheck = false
                restore(endpoint, now: now)
                return OutlierEvent(endpoint: endpoint, kind: .restored)
            }
            guard endpoints[endpoint].failingHealthCheck else { return nil }
            endpoints[endpoint].failingHealthCheck = false
            return OutlierEvent(endpoint: endpoint, kind: .passedHealthCheck)
        }
        guard !endpoints[endpoint].failingHealthCheck else { return nil }
        endpoints[endpoint].failingHealthCheck = true
        return OutlierEvent(endpoint: endpoint, kind: .failedHealthCheck)
    }

    // MARK: Ejection

    private mutating func eject(_ endpoint: Int, now: Instant) -> OutlierEvent {
        // Envoy: ejected_percent = 100 * (active + 1) / hosts; eject only when ≤ max_ejection_percent.
        guard (ejectedCount + 1) * 100 <= configuration.maxEjectionPercent * endpoints.count else {
            return OutlierEvent(endpoint: endpoint, kind: .ejectionSkipped)
        }
        var record = endpoints[endpoint]
        record.multiplier = min(decayedMultiplier(record, now: now) + 1, maxMultiplier)
        let duration = min(configuration.baseEjectionTime * Int(record.multiplier), configuration.maxEjectionTime)
        record.isEjected = true
        record.ejectedUntil = now + duration
        record.ejections &+= 1
        endpoints[endpoint] = record
        ejectedCount += 1
        return OutlierEvent(
            endpoint: endpoint,
            kind: .ejected(until: record.ejectedUntil, multiplier: Int(record.multiplier))
        )
    }

    private mutating func restore(_ endpoint: Int, now: Instant) {
        endpoints[endpoint].isEjected = false
        endpoints[endpoint].consecutiveFailures = 0
        endpoints[endpoint].restoredAt = now
        ejectedCount -= 1
    }

    /// The multiplier after the healthy intervals spent since the last restoration.
    private func decayedMultiplier(_ record: EndpointRecord, now: Instant) -> Int32 {
        guard record.multiplier > 0 else { return 0 }
        let healthy = (now - record.restoredAt).nanoseconds
        guard healthy > 0 else { return record.multiplier }
        let intervals = healthy / configuration.interval.nanoseconds
        return intervals >= Int64(record.multiplier) ? 0 : record.multiplier - Int32(intervals)
    }
}

/// Something the outlier detector did, for the agent to log, count and gossip (`levee-health` events).
public struct OutlierEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// The endpoint is ejected until `until`; `multiplier` is the factor applied to
        /// `base_ejection_time` (before the `max_ejection_time` cap).
        case ejected(until: Instant, multiplier: Int)
        /// The endpoint reached `consecutive_failures` but stays in: ejecting it would exceed
        /// `max_ejection_percent` (Envoy's `ejections_overflow`).
        case ejectionSkipped
        /// The endpoint is a candidate again (its ejection time passed, or a health check passed).
        case restored
        /// An active health check failed: the endpoint is unavailable until one passes.
        case failedHealthCheck
        /// An active health check passed after failing.
        case passedHealthCheck
    }

    /// The endpoint's index.
    public var endpoint: Int
    /// What happened to it.
    public var kind: Kind

    public init(endpoint: Int, kind: Kind) {
        self.endpoint = endpoint
        self.kind = kind
    }
}

/// What the outlier detector knows about one endpoint.
public struct EndpointHealth: Hashable, Sendable {
    /// Consecutive failed attempts since the last success, restoration or ejection.
    public var consecutiveFailures: Int
    /// When the current ejection ends; `nil` when the endpoint is not ejected.
    public var ejectedUntil: Instant?
    /// The current ejection multiplier (after decay when not ejected).
    public var multiplier: Int
    /// How many times the endpoint has been ejected in all.
    public var ejections: Int
    /// Whether the last active health check failed.
    public var failingHealthCheck: Bool

    public init(
        consecutiveFailures: Int,
        ejectedUntil: Instant?,
        multiplier: Int,
        ejections: Int,
        failingHealthCheck: Bool
    ) {
        self.consecutiveFailures = consecutiveFailures
        self.ejectedUntil = ejectedUntil
        self.multiplier = multiplier
        self.ejections = ejections
        self.failingHealthCheck = failingHealthCheck
    }
}

private struct EndpointRecord {
    var consecutiveFailures: Int32 = 0
    var multiplier: Int32 = 0
    var ejections: UInt32 = 0
    var isEjected = false
    var failingHealthCheck = false
    var ejectedUntil: Instant = .zero
    var restoredAt: Instant = .zero
}
