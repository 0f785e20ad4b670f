/// Every policy of one upstream, as the sections of `upstreams.NAME` in the configuration file spell
/// them: `timeouts`, `retry`, `breaker`, `bulkhead`, `outlier_detection`, `load_balancing`, `classify`,
/// `health_check`, `hedge`.
///
/// The agent builds one of these per upstream (the file's `defaults` merged under the upstream's own
/// keys) and makes the policy values from it. `validate()` checks each section and the rules that span
/// sections, and names the failing key by its full path within the upstream.
public struct UpstreamPolicyConfiguration: Hashable, Sendable {
    public var timeouts: TimeoutConfiguration
    public var retry: RetryConfiguration
    public var breaker: CircuitBreakerConfiguration
    public var bulkhead: BulkheadConfiguration
    public var outlierDetection: OutlierDetectionConfiguration
    public var loadBalancing: LoadBalancerConfiguration
    public var classify: OutcomeClassifierConfiguration
    /// Active health checks of the endpoints (`health_check`); nil when the upstream has none.
    public var healthCheck: HealthCheckConfiguration?
    /// Hedged requests (`hedge`); nil when the upstream does not hedge.
    public var hedge: HedgeConfiguration?

    public init(
        timeouts: TimeoutConfiguration = .defaults,
        retry: RetryConfiguration = .defaults,
        breaker: CircuitBreakerConfiguration = .defaults,
        bulkhead: BulkheadConfiguration = .defaults,
        outlierDetection: OutlierDetectionConfiguration = .defaults,
        loadBalancing: LoadBalancerConfiguration = .defaults,
        classify: OutcomeClassifierConfiguration = .defaults,
        healthCheck: HealthCheckConfiguration? = nil,
        hedge: HedgeConfiguration? = nil
    ) {
        self.timeouts = timeouts
        self.retry = retry
        self.breaker = breaker
        self.bulkhead = bulkhead
        self.outlierDetection = outlierDetection
        self.loadBalancing = loadBalancing
        self.classify = classify
        self.healthCheck = healthCheck
        self.hedge = hedge
    }

    /// The built-in defaults of every section: what an upstream named `host:port` on the fly gets.
    public static let defaults = UpstreamPolicyConfiguration()

    /// Throws naming the first bad key by its path within the upstream (`breaker.min_calls`,
    /// `retry.backoff.base`) and its value.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.within("timeouts") { () throws(ConfigurationError) in try timeouts.validate() }
        try ConfigurationError.within("retry") { () throws(ConfigurationError) in try retry.validate() }
        try ConfigurationError.within("breaker") { () throws(ConfigurationError) in try breaker.validate() }
        try ConfigurationError.within("bulkhead") { () throws(ConfigurationError) in try bulkhead.validate() }
        try ConfigurationError.within("outlier_detection") { () throws(ConfigurationError) in
            try outlierDetection.validate()
        }
        try ConfigurationError.within("classify") { () throws(ConfigurationError) in try classify.validate() }
        if let healthCheck {
            try ConfigurationError.within("health_check") { () throws(ConfigurationError) in
                try healthCheck.validate()
            }
        }
        if let hedge {
            try ConfigurationError.within("hedge") { () throws(ConfigurationError) in try hedge.validate() }
        }
        // A bulkhead queue wait longer than the whole call could never be served: the call's deadline
        // caps it anyway (DESIGN.md "never longer than the call's deadline"), so the setting would lie.
        try ConfigurationError.require(
            bulkhead.queueTimeout <= timeouts.total,
            "bulkhead.queue_timeout",
            bulkhead.queueTimeout.configDescription,
            expected: "at most timeouts.total (\(timeouts.total.configDescription))"
        )
    }
}
