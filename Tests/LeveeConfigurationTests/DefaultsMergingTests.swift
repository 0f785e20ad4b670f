import LeveeConfiguration
import LeveePolicy
import Testing

@Suite("defaults merged under upstreams")
struct DefaultsMergingTests {
    @Test func mappingsMergeKeyByKeyAndTheUpstreamWins() throws {
        let configuration = try parse(
            """
            defaults:
              timeouts: { connect: 500ms, attempt: 1s, total: 3s }
              breaker:
                min_calls: 10
                slow_call: { duration: 1s, rate: 80 }
              retry:
                backoff: { base: 10ms, jitter: equal }
            upstreams:
              payments:
                endpoints: ["127.0.0.1:8081"]
                timeouts: { total: 4s }
                breaker:
                  slow_call: { rate: 90 }
                retry:
                  backoff: { max: 2s }
              inventory:
                endpoints: ["127.0.0.1:8082"]
            """
        )
        let payments = try #require(configuration.upstream(named: "payments"))
        #expect(
            payments.policy.timeouts
                == TimeoutConfiguration(connect: .milliseconds(500), attempt: .seconds(1), total: .seconds(4))
        )
        #expect(payments.policy.breaker.minCalls == 10)
        #expect(payments.policy.breaker.slowCall == .init(duration: .seconds(1), rate: 90))
        #expect(
            payments.policy.retry.backoff
                == BackoffConfiguration(base: .milliseconds(10), max: .seconds(2), jitter: .equal)
        )

        let inventory = try #require(configuration.upstream(named: "inventory"))
        #expect(
            inventory.policy.timeouts
                == TimeoutConfiguration(connect: .milliseconds(500), attempt: .seconds(1), total: .seconds(3))
        )
        #expect(inventory.policy.breaker.slowCall == .init(duration: .seconds(1), rate: 80))
        #expect(configuration.defaults.policy.breaker.minCalls == 10)
    }

    @Test func listsReplaceRatherThanAppend() throws {
        let configuration = try parse(
            """
            defaults:
              endpoints: ["10.0.0.1:80", "10.0.0.2:80"]
              retry: { on: [connect-failure, 5xx] }
              fallback: { on: [timeout, circuit_open] }
            upstreams:
              a:
                endpoints: ["127.0.0.1:1"]
                retry: { on: [reset] }
                fallback: { on: [bulkhead-full] }
              b: {}
            """
        )
        let a = try #require(configuration.upstream(named: "a"))
        #expect(a.endpoints == [EndpointAddress(host: "127.0.0.1", port: 1)])
        #expect(a.policy.retry.on == [.reset])
        #expect(a.fallback.on == [.bulkheadFull])
        let b = try #require(configuration.upstream(named: "b"))
        #expect(b.endpoints.map(\.description) == ["10.0.0.1:80", "10.0.0.2:80"])
        #expect(b.policy.retry.on == [.connectFailure, .httpStatus(500...599)])
        #expect(b.fallback.on == [.timeout, .circuitOpen])
    }

    @Test func scalarsAndSectionsFromDefaults() throws {
        let configuration = try parse(
            """
            defaults:
              protocol: grpc
              tls: true
              load_balancing: least_loaded
              fallback:
                static: { grpc_code: 14, grpc_message: down, headers: { Content-Type: text/plain, x-a: "1" } }
            upstreams:
              a:
                endpoints: ["127.0.0.1:1"]
                tls: false
                breaker:
                fallback:
                  static: { headers: { content-type: application/json } }
              b:
                discover: payments
                protocol: http
                load_balancing: { policy: round_robin }
                fallback: { static: false, stale: {} }
            """
        )
        let a = try #require(configuration.upstream(named: "a"))
        #expect(a.protocolKind == .grpc)
        #expect(a.tls == false)
        #expect(a.policy.breaker == .defaults)
        #expect(a.policy.loadBalancing.policy == .leastLoaded)
        // Header names merge case-insensitively: the upstream's content-type replaces Content-Type.
        #expect(
            a.fallback.static
                == StaticFallbackConfiguration(
                    headers: [
                        HeaderField(name: "content-type", value: "application/json"),
                        HeaderField(name: "x-a", value: "1"),
                    ],
                    grpcCode: 14,
                    grpcMessage: "down"
                )
        )
        let b = try #require(configuration.upstream(named: "b"))
        #expect(b.protocolKind == .http)
        #expect(b.tls == true)
        #expect(b.endpoints.isEmpty)
        #expect(b.discover == "payments")
        #expect(b.policy.loadBalancing.policy == .roundRobin)
        #expect(b.fallback.static == nil)
        #expect(b.fallback.stale == .defaults)
    }

    @Test func upstreamsAreSortedByName() throws {
        let configuration = try parse(
            """
            upstreams:
              zeta: { endpoints: ["127.0.0.1:3"] }
              alpha: { endpoints: ["127.0.0.1:1"] }
              mid: { endpoints: ["127.0.0.1:2"] }
            """
        )
        #expect(configuration.upstreams.map(\.name) == ["alpha", "mid", "zeta"])
        #expect(configuration.upstream(named: "nope") == nil)
    }

    @Test func everyPolicyKeyIsRead() throws {
        let configuration = try parse(
            """
            upstreams:
              all:
                protocol: grpc
                tls: true
                endpoints: ["[::1]:50051", "svc.internal:443"]
                discover: all-svc
                timeouts: { connect: 100ms, attempt: 1.5s, total: 1m }
                retry:
                  max_attempts: 5
                  backoff: { base: 5ms, max: 500ms, multiplier: 1.5, jitter: decorrelated }
                  on: [connect-failure, unavailable, 429, 500-504]
                  budget: { ratio: 0.5, min_per_second: 3, ttl: 30s }
                  idempotent_methods: [/pkg.Svc/Get, pkg.Svc/List]
                  min_attempt_time: 500us
                breaker:
                  window: { kind: time, size: 20s, bucket: 2s }
                  min_calls: 5
                  failure_rate: 25.5
                  slow_call: { duration: 300ms, rate: 60 }
                  open_for: 1s
                  open_for_max: 1h
                  half_open_calls: 3
                bulkhead: { max_concurrent: 10, max_queue: 0, queue_timeout: 0s, reserved_critical: 2 }
                outlier_detection:
                  consecutive_failures: 3
                  base_ejection_time: 10s
                  max_ejection_time: 2m
                  max_ejection_percent: 30
                  interval: 5s
                load_balancing: { policy: least-loaded }
                classify: { failure: [503, internal], ignored: [cancelled, 499] }
                fallback:
                  stale: { max_age: 1m, max_entries: 10 }
                  on: [upstream_failure, no-healthy-endpoint]
            """
        )
        let upstream = try #require(configuration.upstream(named: "all"))
        #expect(upstream.protocolKind == .grpc)
        #expect(upstream.tls)
        #expect(
            upstream.endpoints == [
                EndpointAddress(host: "::1", port: 50051), EndpointAddress(host: "svc.internal", port: 443),
            ]
        )
        #expect(upstream.discover == "all-svc")
        let policy = upstream.policy
        #expect(
            policy.timeouts
                == TimeoutConfiguration(connect: .milliseconds(100), attempt: .milliseconds(1500), total: .seconds(60))
        )
        #expect(
            policy.retry
                == RetryConfiguration(
                    maxAttempts: 5,
                    on: [.connectFailure, .grpcStatus(14), .httpStatus(429...429), .httpStatus(500...504)],
                    backoff: BackoffConfiguration(
                        base: .milliseconds(5),
                        multiplier: 1.5,
                        max: .milliseconds(500),
                        jitter: .decorrelated
                    ),
                    budget: RetryBudgetConfiguration(ratio: 0.5, minPerSecond: 3, ttl: .seconds(30)),
                    idempotentMethods: ["/pkg.Svc/Get", "pkg.Svc/List"],
                    minAttemptTime: .microseconds(500)
                )
        )
        #expect(
            policy.breaker
                == CircuitBreakerConfiguration(
                    window: .time(size: .seconds(20), bucket: .seconds(2)),
                    minCalls: 5,
                    failureRate: 25.5,
                    slowCall: .init(duration: .milliseconds(300), rate: 60),
                    openFor: .seconds(1),
                    openForMax: .seconds(3600),
                    halfOpenCalls: 3
                )
        )
        #expect(
            policy.bulkhead
                == BulkheadConfiguration(maxConcurrent: 10, maxQueue: 0, queueTimeout: .zero, reservedCritical: 2)
        )
        #expect(
            policy.outlierDetection
                == OutlierDetectionConfiguration(
                    consecutiveFailures: 3,
                    baseEjectionTime: .seconds(10),
                    maxEjectionTime: .seconds(120),
                    maxEjectionPercent: 30,
                    interval: .seconds(5)
                )
        )
        #expect(policy.loadBalancing.policy == .leastLoaded)
        #expect(
            policy.classify
                == OutcomeClassifierConfiguration(
                    failure: [.httpStatus(503...503), .grpcStatus(13)],
                    ignored: [.grpcStatus(1), .httpStatus(499...499)]
                )
        )
        #expect(
            upstream.fallback
                == FallbackConfiguration(
                    stale: .init(maxAge: .seconds(60), maxEntries: 10),
                    on: [.upstreamFailure, .noHealthyEndpoint]
                )
        )
    }

    /// A window without `kind` is a time window when its size is a duration.
    @Test(arguments: [
        ("{ size: 50 }", CircuitBreakerConfiguration.Window.count(size: 50)),
        ("{ size: 30s }", .time(size: .seconds(30))),
        ("{ kind: time }", .time(size: .seconds(10))),
        ("{ kind: count }", .count(size: 100)),
        ("{}", .count(size: 100)),
    ])
    func windowKinds(window: String, expected: CircuitBreakerConfiguration.Window) throws {
        let configuration = try parse(
            """
            upstreams:
              a: { endpoints: ["127.0.0.1:1"], breaker: { min_calls: 5, window: \(window) } }
            """
        )
        #expect(configuration.upstreams.first?.policy.breaker.window == expected)
    }
}
