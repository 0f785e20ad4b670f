import LeveeConfiguration
import LeveePolicy
import Testing

@Suite("health_check")
struct HealthCheckConfigurationTests {
    @Test func absentMeansNoActiveChecks() throws {
        let configuration = try parse(minimalUpstream)
        let payments = try #require(configuration.upstream(named: "payments"))
        #expect(payments.policy.healthCheck == nil)
    }

    @Test func anEmptySectionTurnsChecksOnWithTheDefaults() throws {
        for body in ["health_check: {}", "health_check:"] {
            let configuration = try parse(minimalUpstream + "\n    \(body)\n")
            let payments = try #require(configuration.upstream(named: "payments"))
            #expect(payments.policy.healthCheck == .defaults)
        }
        #expect(
            HealthCheckConfiguration.defaults
                == HealthCheckConfiguration(
                    path: "/healthz",
                    service: "",
                    interval: .seconds(5),
                    timeout: .seconds(1),
                    healthyThreshold: 2,
                    unhealthyThreshold: 3
                )
        )
    }

    @Test func everyKeyIsRead() throws {
        let configuration = try parse(
            """
            upstreams:
              payments:
                endpoints: ["127.0.0.1:8081"]
                health_check:
                  path: /ready
                  interval: 2s
                  timeout: 250ms
                  healthy_threshold: 1
                  unhealthy_threshold: 4
              ledger:
                protocol: grpc
                endpoints: ["127.0.0.1:9090"]
                health_check: { service: ledger.v1.Ledger, interval: 100ms, timeout: 50ms }
            """
        )
        let payments = try #require(configuration.upstream(named: "payments"))
        #expect(
            payments.policy.healthCheck
                == HealthCheckConfiguration(
                    path: "/ready",
                    interval: .seconds(2),
                    timeout: .milliseconds(250),
                    healthyThreshold: 1,
                    unhealthyThreshold: 4
                )
        )
        let ledger = try #require(configuration.upstream(named: "ledger"))
        #expect(
            ledger.policy.healthCheck
                == HealthCheckConfiguration(
                    service: "ledger.v1.Ledger",
                    interval: .milliseconds(100),
                    timeout: .milliseconds(50)
                )
        )
    }

    @Test func defaultsMergeKeyByKey() throws {
        let configuration = try parse(
            """
            defaults:
              health_check: { path: /ping, interval: 10s }
            upstreams:
              payments:
                endpoints: ["127.0.0.1:8081"]
                health_check: { interval: 3s }
              inventory:
                endpoints: ["127.0.0.1:8082"]
            """
        )
        let payments = try #require(configuration.upstream(named: "payments"))
        #expect(payments.policy.healthCheck == HealthCheckConfiguration(path: "/ping", interval: .seconds(3)))
        let inventory = try #require(configuration.upstream(named: "inventory"))
        #expect(inventory.policy.healthCheck == HealthCheckConfiguration(path: "/ping", interval: .seconds(10)))
    }

    @Test func theErrorReadsAsTheDesignSays() throws {
        let error = try #require(
            parseError(minimalUpstream + "\n    health_check:\n      interval: 5s\n      timeout: 6s\n")
        )
        #expect(
            error.description
                == "levee.yaml:6: upstreams.payments.health_check.timeout: expected a duration shorter than interval (5s), got 6s"
        )
    }
}
