import LeveePolicy
import Yams

// Each section starts from the policy core's defaults and reads only the keys the file sets; ranges
// and the rules between keys are left to the core's `validate()`, which knows them. A key the file
// leaves unset whose plain default could break such a rule against a key the file sets takes the
// core's `default…(…)` for it instead (`BulkheadConfiguration.defaultReservedCritical(maxConcurrent:)`):
// a file is refused only for a value it wrote, never for one it left out. "Sets" counts the file's
// `defaults` section, which is merged under each upstream before decoding.

extension UpstreamPolicyConfiguration {
    /// The policy sections of an upstream, in the order the keys list shows them.
    static let sectionKeys = [
        "timeouts", "retry", "breaker", "bulkhead", "outlier_detection", "load_balancing", "classify",
        "health_check", "hedge",
    ]

    /// The policy sections of `upstream` (an upstream or `defaults`) over the built-in defaults.
    init(decoding upstream: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        // `timeouts.total` and `bulkhead.queue_timeout` follow each other, so both sections are read
        // before either is filled in.
        let timeoutsSection = try upstream.section("timeouts", keys: ["connect", "attempt", "total"])
        let connect = try timeoutsSection?["connect"]?.duration()
        let attempt = try timeoutsSection?["attempt"]?.duration()
        let total = try timeoutsSection?["total"]?.duration()
        if let section = try upstream.section("retry", keys: RetryConfiguration.keys) {
            retry = try RetryConfiguration(decoding: section)
        }
        if let section = try upstream.section("breaker", keys: CircuitBreakerConfiguration.keys) {
            breaker = try CircuitBreakerConfiguration(decoding: section)
        }
        var queueTimeout: Duration?
        if let section = try upstream.section(
            "bulkhead",
            keys: ["max_concurrent", "max_queue", "queue_timeout", "reserved_critical", "adaptive"]
        ) {
            let maxConcurrent = try section["max_concurrent"]?.integer()
            try section.read("max_queue", into: &bulkhead.maxQueue)
            queueTimeout = try section["queue_timeout"]?.duration()
            let reservedCritical = try section["reserved_critical"]?.integer()
            bulkhead.maxConcurrent =
                maxConcurrent ?? BulkheadConfiguration.defaultMaxConcurrent(reservedCritical: reservedCritical)
            bulkhead.reservedCritical =
                reservedCritical ?? BulkheadConfiguration.defaultReservedCritical(maxConcurrent: maxConcurrent)
            if let adaptiveSection = try section.section("adaptive", keys: AdaptiveLimitConfiguration.keys) {
                bulkhead.adaptive = try AdaptiveLimitConfiguration(decoding: adaptiveSection)
            }
        }
        timeouts.connect = connect ?? TimeoutConfiguration.defaultConnect(attempt: attempt, total: total)
        timeouts.attempt = attempt ?? TimeoutConfiguration.defaultAttempt(connect: connect, total: total)
        timeouts.total =
            total
            ?? TimeoutConfiguration.defaultTotal(connect: connect, attempt: attempt, queueTimeout: queueTimeout)
        bulkhead.queueTimeout = queueTimeout ?? BulkheadConfiguration.defaultQueueTimeout(total: total)
        if let section = try upstream.section(
            "outlier_detection",
            keys: [
                "consecutive_failures", "base_ejection_time", "max_ejection_time", "max_ejection_percent", "interval",
            ]
        ) {
            try section.read("consecutive_failures", into: &outlierDetection.consecutiveFailures)
            let baseEjectionTime = try section["base_ejection_time"]?.duration()
            let maxEjectionTime = try section["max_ejection_time"]?.duration()
            outlierDetection.baseEjectionTime =
                baseEjectionTime
                ?? OutlierDetectionConfiguration.defaultBaseEjectionTime(maxEjectionTime: maxEjectionTime)
            outlierDetection.maxEjectionTime =
                maxEjectionTime
                ?? OutlierDetectionConfiguration.defaultMaxEjectionTime(baseEjectionTime: baseEjectionTime)
            try section.read(
                "max_ejection_percent",
                into: &outlierDetection.maxEjectionPercent,
                expected: "an integer percentage such as 50"
            )
            try section.read("interval", into: &outlierDetection.interval)
        }
        if let node = upstream["load_balancing"] {
            // `load_balancing: least_loaded` is accepted as well as `{ policy: least_loaded }`: the first
            // is how LoadBalancerConfiguration documents it, the second leaves room for more keys.
            if case .scalar = node.node, !node.isNull {
                loadBalancing.policy = try node.choice(LoadBalancerConfiguration.Policy.self)
            } else {
                try node.section(keys: ["policy"]).read("policy", into: &loadBalancing.policy)
            }
        }
        if let section = try upstream.section("classify", keys: ["failure", "ignored"]) {
            if let node = section["failure"] { classify.failure = try node.attemptPatterns() }
            if let node = section["ignored"] { classify.ignored = try node.attemptPatterns() }
        }
        if let section = try upstream.section("health_check", keys: HealthCheckConfiguration.keys) {
            healthCheck = try HealthCheckConfiguration(decoding: section)
        }
        if let section = try upstream.section("hedge", keys: HedgeConfiguration.keys) {
            hedge = try HedgeConfiguration(decoding: section)
        }
    }
}

extension HedgeConfiguration {
    static let keys = ["delay", "max"]

    /// What `delay` may be.
    static let delayExpected = "a duration such as 50ms, or p95"

    /// `hedge`: present (even empty) turns hedging on, with the defaults for the keys it does not set.
    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        if let node = section["delay"] {
            let text = try node.string(expected: Self.delayExpected)
            if text.lowercased() == "p95" {
                delay = .p95
            } else if let duration = DurationSyntax.parse(text) {
                delay = .fixed(duration)
            } else {
                throw node.error(expected: Self.delayExpected)
            }
        }
        try section.read("max", into: &max)
    }
}

extension AdaptiveLimitConfiguration {
    /// `bulkhead.adaptive`: present (even empty) makes the bulkhead's limit adaptive, with the defaults
    /// for the keys it does not set.
    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        try section.read("algorithm", into: &algorithm)
        let min = try section["min"]?.integer()
        let max = try section["max"]?.integer()
        self.min = min ?? Self.defaultMin(max: max)
        self.max = max ?? Self.defaultMax(min: min)
        initial = try section["initial"]?.integer()
        try section.read("tolerance", into: &tolerance, expected: "a number ≥ 1 such as 1.5")
        try section.read("smoothing", into: &smoothing, expected: "a number in (0, 1] such as 0.2")
        try section.read("timeout", into: &timeout)
        try section.read("backoff_ratio", into: &backoffRatio, expected: "a number in [0.5, 1) such as 0.9")
        if let node = section["probe_interval"] {
            let text = try node.string(expected: Self.probeIntervalExpected)
            if text.lowercased() == "off" {
                probeInterval = nil
            } else if let duration = DurationSyntax.parse(text) {
                probeInterval = duration
            } else {
                throw node.error(expected: Self.probeIntervalExpected)
            }
        }
    }
}

extension HealthCheckConfiguration {
    static let keys = ["path", "service", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"]

    /// `health_check`: present (even empty) turns active checks on, with the defaults for the keys it
    /// does not set.
    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        try section.read("path", into: &path)
        try section.read("service", into: &service)
        let interval = try section["interval"]?.duration()
        let timeout = try section["timeout"]?.duration()
        self.interval = interval ?? Self.defaultInterval(timeout: timeout)
        self.timeout = timeout ?? Self.defaultTimeout(interval: interval)
        try section.read("healthy_threshold", into: &healthyThreshold)
        try section.read("unhealthy_threshold", into: &unhealthyThreshold)
    }
}

extension RetryConfiguration {
    static let keys = ["max_attempts", "backoff", "on", "budget", "idempotent_methods", "min_attempt_time"]

    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        try section.read("max_attempts", into: &maxAttempts)
        if let backoffSection = try section.section("backoff", keys: ["base", "max", "multiplier", "jitter"]) {
            let base = try backoffSection["base"]?.duration()
            let max = try backoffSection["max"]?.duration()
            backoff.base = base ?? BackoffConfiguration.defaultBase(max: max)
            backoff.max = max ?? BackoffConfiguration.defaultMax(base: base)
            try backoffSection.read("multiplier", into: &backoff.multiplier)
            try backoffSection.read("jitter", into: &backoff.jitter)
        }
        if let node = section["on"] { on = try node.attemptPatterns() }
        if let budgetSection = try section.section("budget", keys: ["ratio", "min_per_second", "ttl"]) {
            try budgetSection.read("ratio", into: &budget.ratio)
            try budgetSection.read("min_per_second", into: &budget.minPerSecond)
            try budgetSection.read("ttl", into: &budget.ttl)
        }
        if let node = section["idempotent_methods"] {
            idempotentMethods = try node.strings(expected: "a list of gRPC method names").map(\.text)
        }
        try section.read("min_attempt_time", into: &minAttemptTime)
    }
}

extension CircuitBreakerConfiguration {
    static let keys = [
        "window", "min_calls", "failure_rate", "slow_call", "open_for", "open_for_max", "half_open_calls",
    ]

    /// The two kinds of `window`.
    private enum WindowKind: String, CaseIterable {
        case count, time
    }

    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        let windowSection = try section.section("window", keys: ["kind", "size", "bucket"])
        let minCalls = try section["min_calls"]?.integer()
        window = try Self.window(decoding: windowSection, minCalls: minCalls)
        self.minCalls = minCalls ?? Self.defaultMinCalls(window: window)
        try section.read("failure_rate", into: &failureRate, expected: "a percentage such as 50")
        if let slowCallSection = try section.section("slow_call", keys: ["duration", "rate"]) {
            try slowCallSection.read("duration", into: &slowCall.duration)
            try slowCallSection.read("rate", into: &slowCall.rate, expected: "a percentage such as 100")
        }
        let openFor = try section["open_for"]?.duration()
        let openForMax = try section["open_for_max"]?.duration()
        self.openFor = openFor ?? Self.defaultOpenFor(openForMax: openForMax)
        self.openForMax = openForMax ?? Self.defaultOpenForMax(openFor: openFor)
        try section.read("half_open_calls", into: &halfOpenCalls)
    }

    /// `{ kind: count, size: 100 }` or `{ kind: time, size: 10s, bucket: 1s }`, or the default count
    /// window when the file has no `window` (`minCalls` is the file's `min_calls`, for an unset count
    /// size). Without `kind`, a size that is a duration makes a time window.
    private static func window(
        decoding section: ConfigurationSection?,
        minCalls: Int?
    ) throws(ConfigurationFileError) -> Window {
        guard let section else { return .count(size: defaultCountWindowSize(minCalls: minCalls)) }
        let kind: WindowKind
        if let node = section["kind"] {
            kind = try node.choice(WindowKind.self)
        } else if let size = section["size"], (try? size.duration()) != nil {
            kind = .time
        } else {
            kind = .count
        }
        switch kind {
        case .count:
            if let bucket = section["bucket"] {
                throw bucket.error(expected: "no bucket for a count window (only kind: time has buckets)")
            }
            let size = try section["size"]?.integer(expected: "a number of calls (kind: count)")
            return .count(size: size ?? defaultCountWindowSize(minCalls: minCalls))
        case .time:
            let size = try section["size"]?.duration()
            let bucket = try section["bucket"]?.duration()
            return .time(
                size: size ?? defaultTimeWindowSize(bucket: bucket),
                bucket: bucket ?? defaultTimeWindowBucket(size: size)
            )
        }
    }
}

extension ConfigurationNode {
    /// A list of `AttemptPattern`s (`[connect-failure, 5xx, unavailable]`).
    func attemptPatterns() throws(ConfigurationFileError) -> [AttemptPattern] {
        var patterns: [AttemptPattern] = []
        for (text, item) in try strings(
            expected: "a list such as [connect-failure, timeout, 5xx]",
            item: AttemptPattern.expectedSpelling
        ) {
            guard let pattern = AttemptPattern(parsing: text) else {
                throw item.error(expected: AttemptPattern.expectedSpelling)
            }
            patterns.append(pattern)
        }
        return patterns
    }
}
