/// The policy state that all calls to one upstream share: circuit breaker, bulkhead (and its adaptive
/// limit, when it has one), retry budget, outlier detector and load balancer, and who decided the
/// breaker's state.
///
/// The shell keeps one per upstream behind its lock and hands it `inout` to each `GuardedCall` event,
/// so that one event is one lock acquisition, whatever the event decides. It reads no clock and does
/// no I/O; every change of the breaker goes through it, so that `breakerSource` always matches the
/// transition that last moved the breaker.
public struct UpstreamPolicyState: Sendable {
    public private(set) var breaker: CircuitBreaker
    /// Who decided the breaker's current state.
    public private(set) var breakerSource: BreakerSource = .local
    public var bulkhead: Bulkhead
    /// The limiter that sets the bulkhead's number of slots (`bulkhead.adaptive`); nil for a fixed one.
    public private(set) var adaptiveLimit: AdaptiveLimit?
    public var budget: RetryBudget
    public var outliers: OutlierDetector
    public var balancer: LoadBalancer
    /// Bumped when the endpoints are replaced (discovery), so that an attempt started on the old list
    /// does not report into the new list's detector and balancer.
    public private(set) var endpointGeneration: UInt64 = 0

    /// Fresh state for an upstream with `endpointCount` endpoints.
    public init(
        breaker: CircuitBreakerConfiguration,
        bulkhead: BulkheadConfiguration,
        retry: RetryPolicy,
        outlierDetection: OutlierDetectionConfiguration,
        loadBalancing: LoadBalancerConfiguration,
        endpointCount: Int
    ) throws(ConfigurationError) {
        self.breaker = try CircuitBreaker(configuration: breaker)
        self.bulkhead = try Bulkhead(configuration: bulkhead)
        if let adaptive = bulkhead.adaptive {
            self.adaptiveLimit = try AdaptiveLimit(configuration: adaptive, maxConcurrent: bulkhead.maxConcurrent)
        }
        self.budget = retry.makeBudget()
        self.outliers = try OutlierDetector(configuration: outlierDetection, endpointCount: endpointCount)
        self.balancer = LoadBalancer(configuration: loadBalancing, endpointCount: endpointCount)
    }

    /// The number of endpoints the detector and balancer know.
    public var endpointCount: Int { balancer.endpointCount }

    // MARK: Breaker

    /// Asks the breaker for a permit at `now`.
    public mutating func tryAcquireBreaker(now: Instant) -> CircuitBreaker.Admission {
        let admission = breaker.tryAcquire(now: now)
        note(admission.transition)
        return admission
    }

    /// Reports an attempt's outcome to the breaker.
    public mutating func recordBreaker(
        _ outcome: AttemptOutcome,
        for permit: CircuitBreaker.Permit,
        duration: Duration,
        now: Instant
    ) -> CircuitBreaker.Transition? {
        note(breaker.record(outcome, for: permit, duration: duration, now: now))
    }

    /// Gives back a permit whose attempt never went out.
    public mutating func releaseBreaker(_ permit: CircuitBreaker.Permit) {
        breaker.release(permit)
    }

    /// An operator's override (`open`, `close`) or reset (`nil`).
    public mutating func overrideBreaker(
        _ override: CircuitBreaker.Override?,
        now: Instant
    ) -> CircuitBreaker.Transition? {
        switch override {
        case let override?: note(breaker.force(override, now: now))
        case nil: note(breaker.reset(now: now))
        }
    }

    /// Opens a CLOSED breaker because `peers` live peers report it open (`share: follow`).
    public mutating func openOnPeerReports(_ peers: Int, now: Instant) -> CircuitBreaker.Transition? {
        note(breaker.openOnPeerReports(peers, now: now))
    }

    /// Opens a CLOSED breaker on this agent's failures in a row and `peers` live peers' suspicion or
    /// reports (`share: follow`).
    public mutating func openOnCorroboration(
        peers: Int,
        suspectAfter: Int,
        now: Instant
    ) -> CircuitBreaker.Transition? {
        note(breaker.openOnCorroboration(peers: peers, suspectAfter: suspectAfter, now: now))
    }

    @discardableResult
    private mutating func note(_ transition: CircuitBreaker.Transition?) -> CircuitBreaker.Transition? {
        if let transition { breakerSource = BreakerSource(transition.cause) }
        return transition
    }

    // MARK: Adaptive limit

    /// Feeds one attempt that ended at `now` to the adaptive limit (windowed), if the bulkhead has one, and gives the bulkhead its new
    /// number of slots. Returns the change, if the limit moved; after a rise, the caller hands the new
    /// slots to waiting calls (`bulkhead.admitWaiting(now:)`).
    public mutating func recordLatency(_ sample: AdaptiveLimit.Sample, now: Instant) -> AdaptiveLimit.Change? {
        guard let change = adaptiveLimit?.record(sample, now: now) else { return nil }
        bulkhead.setLimit(change.to)
        return change
    }

    // MARK: Endpoints

    /// Starts the outlier detector and balancer afresh for a new list of `endpointCount` endpoints;
    /// the breaker, bulkhead and budget go on.
    public mutating func replaceEndpoints(
        count endpointCount: Int,
        outlierDetection: OutlierDetectionConfiguration,
        loadBalancing: LoadBalancerConfiguration
    ) throws(ConfigurationError) {
        outliers = try OutlierDetector(configuration: outlierDetection, endpointCount: endpointCount)
        balancer = LoadBalancer(configuration: loadBalancing, endpointCount: endpointCount)
        endpointGeneration &+= 1
    }
}
