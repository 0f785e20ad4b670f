/// Active health checking of one upstream's endpoints (indices `0..<endpointCount`): when each endpoint
/// is due for a check, and what the results so far make of it. After Envoy's health checker
/// (`source/extensions/health_checkers/common/health_checker_base_impl.cc`), simplified.
///
/// The rules:
/// - An endpoint starts `unchecked`, which keeps it in rotation: a sidecar that starts must not refuse
///   every call until its first checks come back.
/// - `unhealthy_threshold` consecutive failures make it `unhealthy` (out of rotation);
///   `healthy_threshold` consecutive passes make it `healthy`. A pass resets the failure count and a
///   failure the pass count, so a flapping endpoint keeps its status.
/// - The first check of each endpoint is at a random offset within one `interval` of the tracker's
///   creation, so that the endpoints (and the agents of a fleet, which all start at a deploy) are not
///   probed in lockstep. Each later check starts `interval` after the previous one ended; a check that
///   is running is never started again.
///
/// What the status means for rotation — a failing endpoint is out, a passing one may end an outlier
/// ejection — is the outlier detector's business (`OutlierDetector.recordHealthCheck`); the shell
/// feeds it from here. A value: no clock, no I/O, randomness as a parameter.
public struct HealthCheckTracker: Sendable {
    /// The settings in force.
    public let configuration: HealthCheckConfiguration

    private var records: ContiguousArray<Record>

    /// A tracker for `endpointCount` endpoints, all unchecked, whose first checks are spread over the
    /// `interval` after `now` with `rng`.
    public init(
        configuration: HealthCheckConfiguration = .defaults,
        endpointCount: Int,
        now: Instant,
        using rng: inout some RandomNumberGenerator
    ) throws(ConfigurationError) {
        try configuration.validate()
        precondition(endpointCount >= 0, "endpointCount must not be negative")
        self.configuration = configuration
        let interval = UInt64(configuration.interval.nanoseconds)
        var records = ContiguousArray<Record>()
        records.reserveCapacity(endpointCount)
        for _ in 0..<endpointCount {
            let offset = Duration.nanoseconds(Int64(UInt64.random(in: 0..<interval, using: &rng)))
            records.append(Record(nextCheck: now + offset))
        }
        self.records = records
    }

    /// How many endpoints the tracker checks.
    public var endpointCount: Int {
        records.count
    }

    // MARK: Queries

    /// What the checks so far say about `endpoint`.
    public func status(of endpoint: Int) -> HealthStatus {
        records[endpoint].status
    }

    /// Why the last check of `endpoint` failed (`status 503`, `NOT_SERVING`); nil when it passed or
    /// none has ended yet.
    public func lastFailure(of endpoint: Int) -> String? {
        records[endpoint].lastFailure
    }

    /// When the next check that is not running yet is due: when the shell should next call
    /// `startDueChecks(now:)`. Nil when every check is running (or there are no endpoints).
    public var nextCheckTime: Instant? {
        var earliest: Instant?
        for record in records where !record.isRunning {
            if earliest.map({ record.nextCheck < $0 }) ?? true { earliest = record.nextCheck }
        }
        return earliest
    }

    // MARK: Events

    /// The endpoints whose check is due at `now` (`<= now`), marked running: the shell starts one check
    /// for each and reports it with `record(_:endpoint:now:)`.
    public mutating func startDueChecks(now: Instant) -> [Int] {
        var due: [Int] = []
        for endpoint in 0..<records.count where !records[endpoint].isRunning && records[endpoint].nextCheck <= now {
            records[endpoint].isRunning = true
            due.append(endpoint)
        }
        return due
    }

    /// Records how a check of `endpoint` ended at `now`, and schedules its next check `interval` later;
    /// returns the change of status this made, if any.
    public mutating func record(_ result: HealthCheckResult, endpoint: Int, now: Instant) -> HealthCheckTransition? {
        var record = records[endpoint]
        defer { records[endpoint] = record }
        record.isRunning = false
        record.nextCheck = now + configuration.interval
        let from = record.status
        switch result {
        case .passed:
            record.consecutiveFailures = 0
            record.consecutivePasses = record.consecutivePasses == .max ? .max : record.consecutivePasses + 1
            record.lastFailure = nil
            guard from != .healthy, Int(record.consecutivePasses) >= configuration.healthyThreshold else { return nil }
            record.status = .healthy
            return HealthCheckTransition(
                endpoint: endpoint,
                from: from,
                to: .healthy,
                consecutiveChecks: Int(record.consecutivePasses),
                detail: nil
            )
        case .failed(let detail):
            record.consecutivePasses = 0
            record.consecutiveFailures = record.consecutiveFailures == .max ? .max : record.consecutiveFailures + 1
            record.lastFailure = detail
            guard from != .unhealthy, Int(record.consecutiveFailures) >= configuration.unhealthyThreshold else {
                return nil
            }
            record.status = .unhealthy
            return HealthCheckTransition(
                endpoint: endpoint,
                from: from,
                to: .unhealthy,
                consecutiveChecks: Int(record.consecutiveFailures),
                detail: detail
            )
        }
    }

    private struct Record: Sendable {
        var status = HealthStatus.unchecked
        var consecutivePasses: Int32 = 0
        var consecutiveFailures: Int32 = 0
        var isRunning = false
        var nextCheck: Instant
        var lastFailure: String?

        init(nextCheck: Instant) {
            self.nextCheck = nextCheck
        }
    }
}

/// What the active health checks say about an endpoint (`levee upstreams`' `health`).
public enum HealthStatus: String, Hashable, Sendable, CaseIterable {
    /// No verdict yet (or no checks configured): in rotation.
    case unchecked
    /// `healthy_threshold` consecutive passes, and no failure since.
    case healthy
    /// `unhealthy_threshold` consecutive failures, and not enough passes since: out of rotation.
    case unhealthy
}

/// How one health check ended.
public enum HealthCheckResult: Hashable, Sendable {
    /// A 2xx answer, or gRPC `SERVING`.
    case passed
    /// Anything else; `detail` says what for humans (`status 503`, `timeout after 1000 ms`,
    /// `NOT_SERVING`).
    case failed(detail: String)
}

/// A change of an endpoint's health status, for the shell to log, gossip and pass to the outlier
/// detector.
public struct HealthCheckTransition: Hashable, Sendable {
    /// The endpoint's index.
    public var endpoint: Int
    /// The status before.
    public var from: HealthStatus
    /// The status now.
    public var to: HealthStatus
    /// The consecutive passes or failures that made the change.
    public var consecutiveChecks: Int
    /// The last failure, when the endpoint became unhealthy.
    public var detail: String?

    public init(endpoint: Int, from: HealthStatus, to: HealthStatus, consecutiveChecks: Int, detail: String?) {
        self.endpoint = endpoint
        self.from = from
        self.to = to
        self.consecutiveChecks = consecutiveChecks
        self.detail = detail
    }
}
