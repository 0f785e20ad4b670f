/// The settings of active health checks for one upstream's endpoints (`health_check`), after Envoy's
/// `health_checks` (`interval`, `timeout`, `healthy_threshold`, `unhealthy_threshold`) with Levee's
/// YAML names.
///
/// HTTP upstreams `GET` `path` and pass on any 2xx answer; gRPC upstreams call
/// `grpc.health.v1.Health/Check` for `service` and pass on `SERVING` (gRPC `doc/health-checking.md`).
/// Anything else, a transport failure or a timeout fails the check.
public struct HealthCheckConfiguration: Hashable, Sendable {
    /// The path an HTTP upstream's endpoints are asked for (`path`, default `/healthz`).
    public var path: String
    /// The service name sent in a gRPC `HealthCheckRequest` (`service`, default `""`: the server as a
    /// whole).
    public var service: String
    /// The time between the end of one check of an endpoint and the start of the next (`interval`,
    /// default 5 s, or twice `timeout` when a file sets a timeout of 5 s or more).
    public var interval: Duration
    /// How long a check may take before it fails (`timeout`, default 1 s, or half of `interval` when a
    /// file sets an interval of 1 s or less); shorter than `interval`.
    public var timeout: Duration
    /// Consecutive passes that make an endpoint healthy again (`healthy_threshold`, default 2).
    public var healthyThreshold: Int
    /// Consecutive failures that take an endpoint out of rotation (`unhealthy_threshold`, default 3).
    public var unhealthyThreshold: Int

    public init(
        path: String = "/healthz",
        service: String = "",
        interval: Duration = .seconds(5),
        timeout: Duration = .seconds(1),
        healthyThreshold: Int = 2,
        unhealthyThreshold: Int = 3
    ) {
        self.path = path
        self.service = service
        self.interval = interval
        self.timeout = timeout
        self.healthyThreshold = healthyThreshold
        self.unhealthyThreshold = unhealthyThreshold
    }

    /// The defaults of `health_check: {}`.
    public static let defaults = HealthCheckConfiguration()

    /// Checks every value, naming the first bad one by its YAML key.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(
            path.hasPrefix("/") && !path.contains(where: \.isWhitespace),
            "path",
            path.isEmpty ? "an empty path" : path,
            expected: "an absolute path without whitespace, such as /healthz"
        )
        try ConfigurationError.require(
            interval > .zero,
            "interval",
            interval.configDescription,
            expected: "a duration > 0"
        )
        try ConfigurationError.require(
            timeout > .zero,
            "timeout",
            timeout.configDescription,
            expected: "a duration > 0"
        )
        // A check still running when the next is due would pile checks up on a slow endpoint.
        try ConfigurationError.require(
            timeout < interval,
            "timeout",
            timeout.configDescription,
            expected: "a duration shorter than interval (\(interval.configDescription))"
        )
        try ConfigurationError.require(
            healthyThreshold >= 1 && healthyThreshold <= Int(Int32.max),
            "healthy_threshold",
            "\(healthyThreshold)",
            expected: "an integer ≥ 1"
        )
        try ConfigurationError.require(
            unhealthyThreshold >= 1 && unhealthyThreshold <= Int(Int32.max),
            "unhealthy_threshold",
            "\(unhealthyThreshold)",
            expected: "an integer ≥ 1"
        )
    }
}

extension HealthCheckConfiguration {
    // The keys a configuration file leaves unset. Each argument is the value the file sets, nil when it
    // sets none; a value `validate()` refuses is not followed, so that the error names it.

    /// `interval` when the file does not set it: 5 s while that is longer than `timeout`, else twice
    /// `timeout`, so that a check never runs into the next one (`health_check: { timeout: 5s }` checks
    /// every 10 s rather than being refused for an interval the file never wrote).
    public static func defaultInterval(timeout: Duration?) -> Duration {
        guard let timeout, timeout >= defaults.interval else { return defaults.interval }
        return timeout * 2
    }

    /// `timeout` when the file does not set it: 1 s while that is shorter than `interval`, else half of
    /// `interval`.
    public static func defaultTimeout(interval: Duration?) -> Duration {
        guard let interval, interval > .zero, interval <= defaults.timeout else { return defaults.timeout }
        return interval / 2
    }
}
