import LeveeConfiguration
import LeveePolicy
import Testing

/// A key that a file leaves unset follows the keys it sets, so that a small file is never refused for
/// a key it did not write; a value it wrote that contradicts another it wrote is still refused, by its
/// key path. Every file goes through the real loader.
@Suite("unset keys follow the keys a file sets")
struct UnsetKeyDefaultsTests {
    /// The policy of the upstream `payments`, with `section` (one line, such as `bulkhead: { … }`)
    /// among its keys.
    private func policy(_ section: String) throws -> UpstreamPolicyConfiguration {
        let configuration = try load(minimalUpstream + "\n    \(section)\n")
        return try #require(configuration.upstream(named: "payments")).policy
    }

    /// The issue's own file, `bulkhead: { max_concurrent: 4 }`, was refused for the default
    /// `reserved_critical` of 8; a larger bulkhead now reserves an eighth of itself as well.
    @Test(arguments: [(4, 0), (7, 0), (16, 2), (64, 8), (100, 12)])
    func reservedCriticalIsAnEighthOfMaxConcurrent(maxConcurrent: Int, reservedCritical: Int) throws {
        let bulkhead = try policy("bulkhead: { max_concurrent: \(maxConcurrent) }").bulkhead
        #expect(bulkhead.maxConcurrent == maxConcurrent)
        #expect(bulkhead.reservedCritical == reservedCritical)
    }

    /// A reservation the default 64 slots can hold keeps them; a larger one is an eighth of the slots.
    @Test(arguments: [(8, 64), (63, 64), (64, 512), (100, 800)])
    func maxConcurrentHoldsTheReservation(reservedCritical: Int, maxConcurrent: Int) throws {
        let bulkhead = try policy("bulkhead: { reserved_critical: \(reservedCritical) }").bulkhead
        #expect(bulkhead.maxConcurrent == maxConcurrent)
        #expect(bulkhead.reservedCritical == reservedCritical)
    }

    /// `breaker: { window: { kind: count, size: 10 } }` was refused for the default `min_calls` of 20.
    @Test func minCallsIsClampedToASmallerCountWindow() throws {
        let breaker = try policy("breaker: { window: { kind: count, size: 10 } }").breaker
        #expect(breaker.window == .count(size: 10))
        #expect(breaker.minCalls == 10)
        #expect(try policy("breaker: { window: { size: 50 } }").breaker.minCalls == 20)
        #expect(try policy("breaker: { window: { kind: time, size: 5s } }").breaker.minCalls == 20)
    }

    @Test func aCountWindowHoldsALargerMinCalls() throws {
        #expect(try policy("breaker: { min_calls: 200 }").breaker.window == .count(size: 200))
        #expect(try policy("breaker: { min_calls: 200, window: { kind: count } }").breaker.window == .count(size: 200))
        #expect(try policy("breaker: { min_calls: 10 }").breaker.window == .count(size: 100))
    }

    @Test(arguments: [
        (
            "{ kind: time, bucket: 3s }",
            CircuitBreakerConfiguration.Window.time(size: .seconds(12), bucket: .seconds(3))
        ),
        ("{ kind: time, bucket: 500us }", .time(size: .seconds(5), bucket: .microseconds(500))),
        ("{ kind: time, bucket: 20s }", .time(size: .seconds(20), bucket: .seconds(20))),
        ("{ kind: time, bucket: 2s }", .time(size: .seconds(10), bucket: .seconds(2))),
        ("{ kind: time, size: 1500ms }", .time(size: .milliseconds(1500), bucket: .milliseconds(750))),
        ("{ size: 2.5s }", .time(size: .milliseconds(2500), bucket: .milliseconds(625))),
        ("{ size: 30s }", .time(size: .seconds(30), bucket: .seconds(1))),
    ])
    func timeWindowSizeAndBucketFollowEachOther(
        window: String,
        expected: CircuitBreakerConfiguration.Window
    ) throws {
        #expect(try policy("breaker: { window: \(window) }").breaker.window == expected)
    }

    @Test func openForAndOpenForMaxFollowEachOther() throws {
        let long = try policy("breaker: { open_for: 10m }").breaker
        #expect(long.openFor == .seconds(600))
        #expect(long.openForMax == .seconds(600))
        let short = try policy("breaker: { open_for_max: 10s }").breaker
        #expect(short.openFor == .seconds(10))
        #expect(short.openForMax == .seconds(10))
    }

    /// `timeouts: { total: 1s }` was refused for the default attempt of 2 s, `timeouts: { attempt: 500ms }`
    /// for the default connect of 1 s. The last rows were valid before and keep their values.
    @Test(arguments: [
        ("{ total: 1s }", TimeoutConfiguration(connect: .seconds(1), attempt: .seconds(1), total: .seconds(1))),
        (
            "{ total: 500ms }",
            .init(connect: .milliseconds(500), attempt: .milliseconds(500), total: .milliseconds(500))
        ),
        ("{ total: 1500ms }", .init(connect: .seconds(1), attempt: .milliseconds(1500), total: .milliseconds(1500))),
        ("{ attempt: 500ms }", .init(connect: .milliseconds(500), attempt: .milliseconds(500), total: .seconds(5))),
        ("{ attempt: 10s }", .init(connect: .seconds(1), attempt: .seconds(10), total: .seconds(10))),
        ("{ connect: 3s }", .init(connect: .seconds(3), attempt: .seconds(3), total: .seconds(5))),
        ("{ connect: 10s }", .init(connect: .seconds(10), attempt: .seconds(10), total: .seconds(10))),
        ("{ connect: 3s, total: 10s }", .init(connect: .seconds(3), attempt: .seconds(3), total: .seconds(10))),
        ("{ connect: 100ms, total: 1s }", .init(connect: .milliseconds(100), attempt: .seconds(1), total: .seconds(1))),
        ("{ connect: 2s }", .init(connect: .seconds(2), attempt: .seconds(2), total: .seconds(5))),
        ("{ total: 3s }", .init(connect: .seconds(1), attempt: .seconds(2), total: .seconds(3))),
    ])
    func timeoutsFollowEachOther(timeouts: String, expected: TimeoutConfiguration) throws {
        #expect(try policy("timeouts: \(timeouts)").timeouts == expected)
    }

    @Test func queueTimeoutAndTotalFollowEachOther() throws {
        let short = try policy("timeouts: { total: 50ms }")
        #expect(short.bulkhead.queueTimeout == .milliseconds(50))
        let long = try policy("bulkhead: { queue_timeout: 10s }")
        #expect(long.timeouts == TimeoutConfiguration(total: .seconds(10)))
        #expect(long.bulkhead.queueTimeout == .seconds(10))
    }

    @Test func backoffBaseAndMaxFollowEachOther() throws {
        let slow = try policy("retry: { backoff: { base: 2s } }").retry.backoff
        #expect(slow.base == .seconds(2))
        #expect(slow.max == .seconds(2))
        let capped = try policy("retry: { backoff: { max: 10ms } }").retry.backoff
        #expect(capped.base == .milliseconds(10))
        #expect(capped.max == .milliseconds(10))
    }

    @Test func ejectionTimesFollowEachOther() throws {
        let long = try policy("outlier_detection: { base_ejection_time: 10m }").outlierDetection
        #expect(long.baseEjectionTime == .seconds(600))
        #expect(long.maxEjectionTime == .seconds(600))
        let short = try policy("outlier_detection: { max_ejection_time: 10s }").outlierDetection
        #expect(short.baseEjectionTime == .seconds(10))
        #expect(short.maxEjectionTime == .seconds(10))
    }

    /// `health_check: { timeout: 5s }` was refused for the default interval of 5 s.
    @Test(arguments: [
        ("{ timeout: 5s }", Duration.seconds(10), Duration.seconds(5)),
        ("{ timeout: 3s }", .seconds(5), .seconds(3)),
        ("{ interval: 1s }", .seconds(1), .milliseconds(500)),
        ("{ interval: 500ms }", .milliseconds(500), .milliseconds(250)),
        ("{ interval: 2s }", .seconds(2), .seconds(1)),
    ])
    func healthCheckIntervalAndTimeoutFollowEachOther(
        healthCheck: String,
        interval: Duration,
        timeout: Duration
    ) throws {
        let checks = try #require(try policy("health_check: \(healthCheck)").healthCheck)
        #expect(checks.interval == interval)
        #expect(checks.timeout == timeout)
    }

    /// `defaults` is merged under each upstream before decoding, so a key it sets counts as set for
    /// every upstream; `defaults` itself, which dynamic upstreams get, follows the same rules.
    @Test func aKeyInDefaultsCountsAsSet() throws {
        let configuration = try load(
            """
            defaults:
              bulkhead: { max_concurrent: 4 }
              breaker: { window: { kind: count, size: 10 } }
            upstreams:
              payments:
                endpoints: ["127.0.0.1:8081"]
              orders:
                endpoints: ["127.0.0.1:8082"]
                bulkhead: { max_concurrent: 40 }
              ledger:
                endpoints: ["127.0.0.1:8083"]
                bulkhead: { reserved_critical: 1 }
            """
        )
        #expect(configuration.defaults.policy.bulkhead.reservedCritical == 0)
        #expect(configuration.defaults.policy.breaker.minCalls == 10)
        let payments = try #require(configuration.upstream(named: "payments")).policy
        #expect(payments.bulkhead.reservedCritical == 0)
        #expect(payments.breaker.minCalls == 10)
        let orders = try #require(configuration.upstream(named: "orders")).policy
        #expect(orders.bulkhead.maxConcurrent == 40)
        #expect(orders.bulkhead.reservedCritical == 5)
        let ledger = try #require(configuration.upstream(named: "ledger")).policy
        #expect(ledger.bulkhead.maxConcurrent == 4)
        #expect(ledger.bulkhead.reservedCritical == 1)
    }

    /// The error, word for word, now that the file wrote both keys.
    @Test func aWrittenReservationTooLargeForTheBulkheadIsRefused() throws {
        let error = try #require(
            loadError(minimalUpstream + "\n    bulkhead: { max_concurrent: 4, reserved_critical: 8 }\n")
        )
        #expect(error.line == 4)
        #expect(
            "\(error.keyPath): expected \(error.expected), got \(error.value)"
                == "upstreams.payments.bulkhead.reserved_critical: expected an integer ≥ 0 and less than max_concurrent (4), got 8"
        )
    }

    /// Files whose written values contradict each other, or are out of range: each is refused naming a
    /// key the file wrote, never one that was left to follow it.
    static let contradictions: [BadDocument] = [
        BadDocument(
            name: "min_calls larger than the count window written",
            yaml: minimalUpstream + "\n    breaker: { window: { kind: count, size: 10 }, min_calls: 20 }\n",
            keyPath: "upstreams.payments.breaker.min_calls",
            line: 4,
            expected: "at most window.size (10)",
            value: "20"
        ),
        BadDocument(
            name: "min_calls larger than any count window",
            yaml: minimalUpstream + "\n    breaker: { min_calls: 200000 }\n",
            keyPath: "upstreams.payments.breaker.min_calls",
            line: 4,
            expected: "at most window.size (100000)",
            value: "200000"
        ),
        BadDocument(
            name: "time window not a whole number of the bucket written",
            yaml: minimalUpstream + "\n    breaker: { window: { kind: time, size: 1500ms, bucket: 1s } }\n",
            keyPath: "upstreams.payments.breaker.window.size",
            line: 4,
            expected: "a whole multiple of window.bucket (1s)",
            value: "1500ms"
        ),
        BadDocument(
            name: "time window too long for one-second buckets",
            yaml: minimalUpstream + "\n    breaker: { window: { kind: time, size: 3h } }\n",
            keyPath: "upstreams.payments.breaker.window.size",
            line: 4,
            expected: "at most 10000 buckets of window.bucket (1s)",
            value: "10800s"
        ),
        BadDocument(
            name: "a bucket too short for any window",
            yaml: minimalUpstream + "\n    breaker: { window: { kind: time, bucket: 50us } }\n",
            keyPath: "upstreams.payments.breaker.window.bucket",
            line: 4,
            expected: "a duration of at least 100us",
            value: "50us"
        ),
        BadDocument(
            name: "open_for_max shorter than open_for",
            yaml: minimalUpstream + "\n    breaker: { open_for: 10m, open_for_max: 5m }\n",
            keyPath: "upstreams.payments.breaker.open_for_max",
            line: 4,
            expected: "a duration at least open_for (600s)",
            value: "300s"
        ),
        BadDocument(
            name: "attempt longer than total",
            yaml: minimalUpstream + "\n    timeouts: { attempt: 2s, total: 1s }\n",
            keyPath: "upstreams.payments.timeouts.attempt",
            line: 4,
            expected: "at most timeouts.total (1s)",
            value: "2s"
        ),
        BadDocument(
            name: "connect longer than attempt",
            yaml: minimalUpstream + "\n    timeouts: { connect: 1s, attempt: 500ms }\n",
            keyPath: "upstreams.payments.timeouts.connect",
            line: 4,
            expected: "at most timeouts.attempt (500ms)",
            value: "1s"
        ),
        BadDocument(
            name: "connect longer than total, attempt unset",
            yaml: minimalUpstream + "\n    timeouts: { connect: 3s, total: 2s }\n",
            keyPath: "upstreams.payments.timeouts.connect",
            line: 4,
            expected: "at most timeouts.total (2s)",
            value: "3s"
        ),
        BadDocument(
            name: "a refused total is not followed by connect and attempt",
            yaml: minimalUpstream + "\n    timeouts: { total: 0s }\n",
            keyPath: "upstreams.payments.timeouts.total",
            line: 4,
            expected: "a duration above 0",
            value: "0s"
        ),
        BadDocument(
            name: "queue_timeout longer than the total written",
            yaml: minimalUpstream + "\n    timeouts: { total: 5s }\n    bulkhead: { queue_timeout: 10s }\n",
            keyPath: "upstreams.payments.bulkhead.queue_timeout",
            line: 5,
            expected: "at most timeouts.total (5s)",
            value: "10s"
        ),
        BadDocument(
            name: "backoff max shorter than base",
            yaml: minimalUpstream + "\n    retry: { backoff: { base: 2s, max: 1s } }\n",
            keyPath: "upstreams.payments.retry.backoff.max",
            line: 4,
            expected: "a duration ≥ base (2s)",
            value: "1s"
        ),
        BadDocument(
            name: "max_ejection_time shorter than base_ejection_time",
            yaml: minimalUpstream + "\n    outlier_detection: { base_ejection_time: 10m, max_ejection_time: 5m }\n",
            keyPath: "upstreams.payments.outlier_detection.max_ejection_time",
            line: 4,
            expected: "a duration ≥ base_ejection_time (600s)",
            value: "300s"
        ),
        BadDocument(
            name: "health check timeout as long as the interval written",
            yaml: minimalUpstream + "\n    health_check: { interval: 5s, timeout: 5s }\n",
            keyPath: "upstreams.payments.health_check.timeout",
            line: 4,
            expected: "a duration shorter than interval (5s)",
            value: "5s"
        ),
        BadDocument(
            name: "a reservation written in defaults, too large for an upstream's bulkhead",
            yaml: """
                defaults:
                  bulkhead: { reserved_critical: 8 }
                upstreams:
                  payments:
                    endpoints: ["127.0.0.1:8081"]
                    bulkhead: { max_concurrent: 4 }
                """,
            keyPath: "upstreams.payments.bulkhead.reserved_critical",
            line: 2,
            expected: "an integer ≥ 0 and less than max_concurrent (4)",
            value: "8"
        ),
    ]

    @Test(arguments: contradictions)
    func aWrittenContradictionIsRefusedByItsKeyPath(_ document: BadDocument) throws {
        let error = try #require(loadError(document.yaml))
        #expect(error.keyPath == document.keyPath)
        #expect(error.line == document.line)
        #expect(error.expected.contains(document.expected), "\(error)")
        if let value = document.value {
            #expect(error.value == value, "\(error)")
        }
    }
}
