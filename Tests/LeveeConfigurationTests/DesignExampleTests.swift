import LeveeConfiguration
import LeveePolicy
import Testing

/// DESIGN.md's configuration example, copied verbatim: the file format it documents is the one the
/// parser reads.
let designExample = #"""
    service: orders
    listen:
      socket: /run/levee/levee.sock      # Guard API, mode 0660
      admin_socket: /run/levee/admin.sock
    defaults:                            # merged under every upstream
      timeouts: { connect: 1s, attempt: 2s, total: 5s }
    upstreams:
      payments:
        protocol: http                   # http (HTTP/1.1; HTTP/2 when tls and ALPN agree) | grpc
        tls: false
        endpoints: ["127.0.0.1:8081", "127.0.0.1:8082"]
        retry:
          max_attempts: 3
          backoff: { base: 25ms, max: 1s, jitter: full }
          on: [connect-failure, reset, timeout, 5xx]
          budget: { ratio: 0.2, min_per_second: 10, ttl: 10s }
        breaker:
          window: { kind: count, size: 100 }   # or { kind: time, size: 10s }
          min_calls: 20
          failure_rate: 50
          slow_call: { duration: 2s, rate: 100 }
          open_for: 30s
          open_for_max: 5m
          half_open_calls: 1
        bulkhead: { max_concurrent: 64, max_queue: 128, queue_timeout: 100ms, reserved_critical: 8 }
        fallback:
          stale: { max_age: 30s }
          static: { status: 200, headers: { content-type: application/json }, body: '{"items":[]}' }
    gossip:
      bind: 0.0.0.0:7946
      join: ["10.0.0.2:7946"]
      encrypt_key: "base64 of 16/24/32 bytes"    # same format as serf -encrypt
    """#

@Suite("DESIGN.md example")
struct DesignExampleTests {
    /// The example's `encrypt_key` is a placeholder (`"base64 of 16/24/32 bytes"`), not a key: the one
    /// complaint about the verbatim text is that key, on its line, without echoing it.
    @Test func verbatimExampleOnlyLacksARealKey() {
        let error = parseError(designExample)
        #expect(error?.keyPath == "gossip.encrypt_key")
        #expect(error?.line == 32)
        #expect(error?.file == "levee.yaml")
        #expect(error?.value == "text that is not base64")
    }

    @Test func exampleWithARealKeyParses() throws {
        let configuration = try parse(designExampleWithKey)
        #expect(configuration.service == "orders")
        #expect(
            configuration.listen
                == ListenConfiguration(socket: "/run/levee/levee.sock", adminSocket: "/run/levee/admin.sock")
        )
        #expect(configuration.dynamicUpstreams == false)
        #expect(configuration.sourcePath == "levee.yaml")
        #expect(configuration.upstreams.map(\.name) == ["payments"])

        let payments = try #require(configuration.upstream(named: "payments"))
        #expect(payments.protocolKind == .http)
        #expect(payments.tls == false)
        #expect(
            payments.endpoints == [
                EndpointAddress(host: "127.0.0.1", port: 8081), EndpointAddress(host: "127.0.0.1", port: 8082),
            ]
        )
        #expect(payments.discover == nil)
        #expect(payments.isDynamic == false)

        let policy = payments.policy
        #expect(policy.timeouts == TimeoutConfiguration(connect: .seconds(1), attempt: .seconds(2), total: .seconds(5)))
        #expect(policy.retry.maxAttempts == 3)
        #expect(policy.retry.backoff == BackoffConfiguration(base: .milliseconds(25), max: .seconds(1), jitter: .full))
        #expect(policy.retry.on == [.connectFailure, .reset, .timeout, .httpStatus(500...599)])
        #expect(policy.retry.budget == RetryBudgetConfiguration(ratio: 0.2, minPerSecond: 10, ttl: .seconds(10)))
        #expect(policy.breaker.window == .count(size: 100))
        #expect(policy.breaker.minCalls == 20)
        #expect(policy.breaker.failureRate == 50)
        #expect(policy.breaker.slowCall == .init(duration: .seconds(2), rate: 100))
        #expect(policy.breaker.openFor == .seconds(30))
        #expect(policy.breaker.openForMax == .seconds(300))
        #expect(policy.breaker.halfOpenCalls == 1)
        #expect(
            policy.bulkhead
                == BulkheadConfiguration(
                    maxConcurrent: 64,
                    maxQueue: 128,
                    queueTimeout: .milliseconds(100),
                    reservedCritical: 8
                )
        )
        #expect(policy.outlierDetection == .defaults)
        #expect(policy.loadBalancing == .defaults)
        #expect(policy.classify == .defaults)

        #expect(payments.fallback.stale == StaleFallbackConfiguration(maxAge: .seconds(30), maxEntries: 1024))
        #expect(
            payments.fallback.static
                == StaticFallbackConfiguration(
                    status: 200,
                    headers: [HeaderField(name: "content-type", value: "application/json")],
                    body: Array(#"{"items":[]}"#.utf8)
                )
        )
        #expect(payments.fallback.on == Set(FallbackTrigger.allCases))

        let gossip = try #require(configuration.gossip)
        #expect(gossip.bind == "0.0.0.0:7946")
        #expect(gossip.join == ["10.0.0.2:7946"])
        #expect(gossip.encryptKeyBytes == Array(0..<16))
        #expect(gossip.profile == "lan")
        #expect(gossip.share == "advisory")
        #expect(gossip.quorum == 1)
        #expect(gossip.name == nil)
        #expect(gossip.advertise == nil)
    }

    /// The example's defaults are what a dynamic upstream would get, had the file turned them on.
    @Test func exampleDefaultsReachDynamicUpstreams() throws {
        var configuration = try parse(designExampleWithKey)
        #expect(configuration.dynamicUpstream(named: "127.0.0.1:9000", protocolKind: .http) == nil)
        configuration.dynamicUpstreams = true
        let upstream = try #require(configuration.dynamicUpstream(named: "127.0.0.1:9000", protocolKind: .grpc))
        #expect(
            upstream.policy.timeouts
                == TimeoutConfiguration(connect: .seconds(1), attempt: .seconds(2), total: .seconds(5))
        )
        #expect(upstream.policy.breaker == .defaults)
    }
}

/// The example with its placeholder replaced by a real key (bytes 0 to 15, base64).
let designExampleWithKey = designExample.replacing("base64 of 16/24/32 bytes", with: "AAECAwQFBgcICQoLDA0ODw==")
