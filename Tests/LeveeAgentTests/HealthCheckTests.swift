import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// Active health checks against real HTTP and gRPC endpoints that fail and recover, through a real
/// agent: rotation, the admin API's view, outlier ejection and the panic rule.
@Suite(.timeLimit(.minutes(2)))
struct HealthCheckTests {
    /// An HTTP upstream over `endpoints`, checked every 500 ms (timeouts generous enough for a loaded
    /// machine); the breaker never trips and nothing is retried, so every call shows the balancer's
    /// choice.
    static func httpUpstream(
        _ endpoints: [String],
        healthCheck: String = "{ interval: 500ms, timeout: 450ms, healthy_threshold: 2, unhealthy_threshold: 3 }",
        outlierDetection: String = "{ consecutive_failures: 1000 }"
    ) -> String {
        """
        upstreams:
          shards:
            endpoints: [\(endpoints.map { "\"\($0)\"" }.joined(separator: ", "))]
            load_balancing: { policy: round_robin }
            retry: { max_attempts: 1 }
            breaker: { min_calls: 1000, window: { kind: count, size: 1000 } }
            outlier_detection: \(outlierDetection)
            health_check: \(healthCheck)
        """
    }

    /// What the admin API says of `address` in upstream `name`.
    static func endpoint(
        _ address: String,
        of name: String = "shards",
        in agent: AgentHarness
    ) async throws
        -> Levee_V1_EndpointInfo
    {
        let info = try await agent.upstream(name)
        guard let endpoint = info.endpoints.first(where: { $0.address == address }) else {
            throw AgentHarness.Failure(description: "no endpoint \(address) in \(name)")
        }
        return endpoint
    }

    /// Requests other than health checks.
    static func calls(to server: TestHTTPServer) -> Int {
        server.requests.filter { $0.path != "/healthz" }.count
    }

    @Test("An endpoint whose /healthz answers 503 leaves rotation, and returns when it answers 200 again")
    func failingCheckLeavesRotationAndPassingOneRestores() async throws {
        let good = try await TestHTTPServer.start()
        good.behaviour = .respond(status: 200, body: "good")
        let sick = try await TestHTTPServer.start()
        sick.behaviour = .respond(status: 200, body: "sick")
        sick.setBehaviour(.respond(status: 503, body: "not ready"), forPath: "/healthz")
        try await AgentHarness.withAgent(yaml: Self.httpUpstream([good.address, sick.address])) { agent in
            try await eventually("the sick endpoint is out of rotation for its 503") {
                let endpoint = try await Self.endpoint(sick.address, in: agent)
                return endpoint.health == "unhealthy" && !endpoint.inRotation && endpoint.healthDetail == "status 503"
            }
            #expect(try await !Self.endpoint(sick.address, in: agent).ejected)
            try await eventually("the good endpoint is healthy") {
                try await Self.endpoint(good.address, in: agent).health == "healthy"
            }
            let kept = try await Self.endpoint(good.address, in: agent)
            #expect(kept.inRotation && kept.healthDetail.isEmpty)
            #expect(sick.requests.contains { $0.header("user-agent") == "levee-health-check" })

            let before = Self.calls(to: sick)
            for _ in 0..<6 {
                let response = try await agent.call("shards", "GET", "/")
                #expect(response.outcome == .ok)
                #expect(response.endpoint == good.address)
            }
            #expect(Self.calls(to: sick) == before)
            #expect(try await agent.upstream("shards").endpoints.filter(\.inRotation).count == 1)

            sick.setBehaviour(nil, forPath: "/healthz")
            try await eventually("the recovered endpoint is back in rotation") {
                let endpoint = try await Self.endpoint(sick.address, in: agent)
                return endpoint.health == "healthy" && endpoint.inRotation && endpoint.healthDetail.isEmpty
            }
            try await eventually("a call reaches the recovered endpoint") {
                try await agent.call("shards", "GET", "/").endpoint == sick.address
            }
        }
        try await good.stop()
        try await sick.stop()
    }

    @Test("A stopped endpoint (connect refused) fails its checks; restarted, it passes them again")
    func stoppedEndpointFailsAndRecovers() async throws {
        let good = try await TestHTTPServer.start()
        let dying = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(yaml: Self.httpUpstream([good.address, dying.address])) { agent in
            try await eventually("both endpoints are healthy") {
                try await agent.upstream("shards").endpoints.allSatisfy { $0.health == "healthy" }
            }
            try await dying.stop()
            try await eventually("the stopped endpoint is out of rotation") {
                let endpoint = try await Self.endpoint(dying.address, in: agent)
                return endpoint.health == "unhealthy" && !endpoint.inRotation
            }
            #expect(try await !Self.endpoint(dying.address, in: agent).healthDetail.isEmpty)
            for _ in 0..<4 {
                #expect(try await agent.call("shards", "GET", "/").endpoint == good.address)
            }

            try await dying.restart()
            try await eventually("the restarted endpoint is back in rotation") {
                let endpoint = try await Self.endpoint(dying.address, in: agent)
                return endpoint.health == "healthy" && endpoint.inRotation
            }
        }
        try await good.stop()
        try await dying.stop()
    }

    @Test("A check that gets no answer within its timeout fails, and says so")
    func slowCheckTimesOut() async throws {
        let good = try await TestHTTPServer.start()
        let slow = try await TestHTTPServer.start()
        slow.setBehaviour(.stall(.seconds(5), then: .ok), forPath: "/healthz")
        try await AgentHarness.withAgent(yaml: Self.httpUpstream([good.address, slow.address])) { agent in
            try await eventually("the slow endpoint is out of rotation, for timeouts") {
                let endpoint = try await Self.endpoint(slow.address, in: agent)
                return endpoint.health == "unhealthy" && !endpoint.inRotation
                    && endpoint.healthDetail == "timeout after 450 ms"
            }
        }
        try await good.stop()
        try await slow.stop()
    }

    @Test("gRPC: an endpoint whose health service says NOT_SERVING leaves rotation and returns at SERVING")
    func grpcHealthService() async throws {
        try await TestGRPCServer.withServer { good in
            try await TestGRPCServer.withServer { sick in
                // The checks name a service: the server as a whole ("") stays SERVING on both.
                good.setHealthStatus(.serving, forService: "payments.v1.Payments")
                sick.setHealthStatus(.notServing, forService: "payments.v1.Payments")
                try await AgentHarness.withAgent(
                    yaml: """
                        upstreams:
                          payments:
                            protocol: grpc
                            endpoints: ["\(good.address)", "\(sick.address)"]
                            load_balancing: { policy: round_robin }
                            retry: { max_attempts: 1 }
                            health_check:
                              service: payments.v1.Payments
                              interval: 500ms
                              timeout: 450ms
                        """
                ) { agent in
                    try await eventually("the NOT_SERVING endpoint is out of rotation") {
                        let endpoint = try await Self.endpoint(sick.address, of: "payments", in: agent)
                        return endpoint.health == "unhealthy" && !endpoint.inRotation
                            && endpoint.healthDetail == "NOT_SERVING"
                    }
                    try await eventually("the SERVING endpoint is healthy") {
                        try await Self.endpoint(good.address, of: "payments", in: agent).health == "healthy"
                    }
                    var request = Levee_V1_CallRequest()
                    request.upstream = "payments"
                    request.grpc.method = "/test.Echo/Echo"
                    request.grpc.message = Data("charge".utf8)
                    let before = sick.requestCount
                    for _ in 0..<4 {
                        let response = try await agent.guardClient.call(request)
                        #expect(response.outcome == .ok, "\(response.detail)")
                        #expect(response.endpoint == good.address)
                    }
                    #expect(sick.requestCount == before)

                    // An unknown service is NOT_FOUND: a failure too, with the gRPC status as the detail.
                    sick.setHealthStatus(nil, forService: "payments.v1.Payments")
                    try await eventually("the detail names the gRPC status") {
                        try await Self.endpoint(sick.address, of: "payments", in: agent).healthDetail
                            .hasPrefix("gRPC status NOT_FOUND")
                    }

                    sick.setHealthStatus(.serving, forService: "payments.v1.Payments")
                    try await eventually("the SERVING endpoint is back in rotation") {
                        let endpoint = try await Self.endpoint(sick.address, of: "payments", in: agent)
                        return endpoint.health == "healthy" && endpoint.inRotation
                    }
                    #expect(sick.healthCheckCount > 0)
                }
            }
        }
    }

    @Test("An endpoint ejected by the outlier detector is restored by a passing check, long before its ejection ends")
    func passingCheckEndsAnOutlierEjection() async throws {
        let good = try await TestHTTPServer.start()
        let flaky = try await TestHTTPServer.start()
        flaky.behaviour = .respond(status: 500, body: "boom")
        flaky.setBehaviour(.ok, forPath: "/healthz")
        try await AgentHarness.withAgent(
            yaml: Self.httpUpstream(
                [good.address, flaky.address],
                // Checks far apart, so the ejection is seen before the next pass ends it.
                healthCheck: "{ interval: 1s, timeout: 500ms, healthy_threshold: 1 }",
                outlierDetection:
                    "{ consecutive_failures: 2, base_ejection_time: 5m, max_ejection_time: 5m, max_ejection_percent: 50 }"
            )
        ) { agent in
            try await eventually("the flaky endpoint passes its checks") {
                try await Self.endpoint(flaky.address, in: agent).health == "healthy"
            }
            var ejected = Levee_V1_EndpointInfo()
            try await eventually("the flaky endpoint is ejected for its 500s") {
                _ = try await agent.call("shards", "GET", "/")
                ejected = try await Self.endpoint(flaky.address, in: agent)
                return ejected.ejected
            }
            #expect(!ejected.inRotation)
            #expect(ejected.ejectedForMs > 60_000)

            flaky.behaviour = .respond(status: 200, body: "fixed")
            try await eventually("a passing check restores it", timeout: .seconds(30)) {
                let endpoint = try await Self.endpoint(flaky.address, in: agent)
                return !endpoint.ejected && endpoint.inRotation
            }
            try await eventually("a call reaches it again") {
                try await agent.call("shards", "GET", "/").endpoint == flaky.address
            }
        }
        try await good.stop()
        try await flaky.stop()
    }

    @Test("When every endpoint fails its checks, the panic rule keeps them all in rotation")
    func panicWhenAllAreUnhealthy() async throws {
        let first = try await TestHTTPServer.start()
        let second = try await TestHTTPServer.start()
        for server in [first, second] {
            server.behaviour = .respond(status: 200, body: "still answering")
            server.setBehaviour(.respond(status: 503), forPath: "/healthz")
        }
        try await AgentHarness.withAgent(yaml: Self.httpUpstream([first.address, second.address])) { agent in
            try await eventually("both endpoints are unhealthy") {
                try await agent.upstream("shards").endpoints.allSatisfy { $0.health == "unhealthy" }
            }
            let info = try await agent.upstream("shards")
            #expect(info.endpoints.allSatisfy { $0.inRotation })
            var reached = Set<String>()
            for _ in 0..<4 {
                let response = try await agent.call("shards", "GET", "/")
                #expect(response.outcome == .ok, "\(response.detail)")
                reached.insert(response.endpoint)
            }
            #expect(reached == [first.address, second.address])

            // One recovers: it alone is in rotation again.
            second.setBehaviour(nil, forPath: "/healthz")
            try await eventually("the recovered endpoint alone is in rotation") {
                let endpoints = try await agent.upstream("shards").endpoints
                return endpoints.filter(\.inRotation).map(\.address) == [second.address]
            }
        }
        try await first.stop()
        try await second.stop()
    }

    @Test("A reload that adds health_check starts the checks; one that removes it stops them")
    func reloadFollowed() async throws {
        let good = try await TestHTTPServer.start()
        let sick = try await TestHTTPServer.start()
        sick.setBehaviour(.respond(status: 503), forPath: "/healthz")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  shards: { endpoints: ["\(good.address)", "\(sick.address)"] }
                """
        ) { agent in
            #expect(
                try await agent.upstream("shards").endpoints.allSatisfy { $0.health == "unchecked" && $0.inRotation }
            )
            try agent.rewriteFile(Self.httpUpstream([good.address, sick.address]))
            #expect(try await agent.admin.reload(Levee_V1_ReloadRequest()).changed == ["shards"])
            try await eventually("the reloaded upstream's sick endpoint is out of rotation") {
                let endpoint = try await Self.endpoint(sick.address, in: agent)
                return endpoint.health == "unhealthy" && !endpoint.inRotation
            }

            try agent.rewriteFile(
                """
                upstreams:
                  shards: { endpoints: ["\(good.address)", "\(sick.address)"] }
                """
            )
            #expect(try await agent.admin.reload(Levee_V1_ReloadRequest()).changed == ["shards"])
            let before = sick.requests.count { $0.path == "/healthz" }
            #expect(
                try await agent.upstream("shards").endpoints.allSatisfy { $0.health == "unchecked" && $0.inRotation }
            )
            try await eventually("a call reaches the endpoint no longer checked") {
                try await agent.call("shards", "GET", "/").endpoint == sick.address
            }
            // No check of the new runtime; at most a check or two of the old one, started just before the reload.
            #expect(sick.requests.count { $0.path == "/healthz" } <= before + 2)
        }
        try await good.stop()
        try await sick.stop()
    }

    @Test("Checks of a tls: true upstream go over TLS with its trust settings; an untrusted server fails them")
    func checksOverTLS() async throws {
        let directory = try AgentHarness.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = try await TLSUpstreamTests.makeCertificate(in: directory)
        let server = try await TestTLSServer.start(certificatePath: certificate, keyPath: key)
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  secure:
                    tls: true
                    tls_ca_file: \(certificate)
                    endpoints: ["\(server.address)"]
                    health_check: { interval: 500ms, timeout: 450ms }
                  untrusted:
                    tls: true
                    endpoints: ["\(server.address)"]
                    health_check: { interval: 500ms, timeout: 450ms }
                """
        ) { agent in
            try await eventually("the trusted server passes its checks") {
                try await Self.endpoint(server.address, of: "secure", in: agent).health == "healthy"
            }
            try await eventually("the untrusted server fails its checks") {
                let endpoint = try await Self.endpoint(server.address, of: "untrusted", in: agent)
                return endpoint.health == "unhealthy" && endpoint.healthDetail.contains("TLS")
            }
            // Alone and unhealthy, it stays in rotation: the panic rule.
            #expect(try await Self.endpoint(server.address, of: "untrusted", in: agent).inRotation)
        }
        try await server.stop()
    }
}
