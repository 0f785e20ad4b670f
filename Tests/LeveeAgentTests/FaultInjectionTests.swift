import Foundation
import GRPCCore
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import SwiftProtobuf
import Testing

/// Chaos faults end to end: each kind against real HTTP and gRPC upstreams through a real agent, the
/// filters (percent, endpoint, header), expiry, the `chaos` bounds, reloads, and what the app sees.
@Suite(.timeLimit(.minutes(3)))
struct FaultInjectionTests {
    static let chaos = "chaos: { enabled: true }"

    static func spec(
        _ upstream: String,
        _ kind: Levee_V1_FaultKind,
        status: UInt32 = 0,
        code: UInt32 = 0,
        delayMs: UInt32 = 0,
        percent: Double = 0,
        endpoint: String = "",
        header: (String, String)? = nil,
        durationMs: UInt32 = 0
    ) -> Levee_V1_AddFaultRequest {
        var spec = Levee_V1_FaultSpec()
        spec.upstream = upstream
        spec.kind = kind
        spec.httpStatus = status
        spec.grpcCode = code
        spec.delayMs = delayMs
        spec.percent = percent
        spec.endpoint = endpoint
        if let header {
            spec.headerName = header.0
            spec.headerValue = header.1
        }
        spec.durationMs = durationMs
        var request = Levee_V1_AddFaultRequest()
        request.fault = spec
        return request
    }

    static func add(_ agent: AgentHarness, _ request: Levee_V1_AddFaultRequest) async throws -> Levee_V1_Fault {
        try await agent.admin.addFault(request).fault
    }

    /// `ClearFaults` for `id`, or for all when nil.
    static func clear(_ id: String?) -> Levee_V1_ClearFaultsRequest {
        var request = Levee_V1_ClearFaultsRequest()
        if let id { request.id = id } else { request.all = true }
        return request
    }

    static func list(_ agent: AgentHarness) async throws -> [Levee_V1_Fault] {
        try await agent.admin.listFaults(Levee_V1_ListFaultsRequest()).faults
    }

    /// The RPC error `body` throws; fails the test when it throws none.
    static func rpcError(_ body: () async throws -> Void) async throws -> RPCError {
        do {
            try await body()
        } catch let error as RPCError {
            return error
        }
        Issue.record("expected an RPC error")
        throw AgentHarness.Failure(description: "no RPC error")
    }

    @Test("Off by default: every fault RPC fails with FAILED_PRECONDITION naming chaos.enabled")
    func disabledByDefault() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(yaml: "upstreams:\n  web: { endpoints: [\"\(server.address)\"] }") { agent in
            let add = try await Self.rpcError { _ = try await Self.add(agent, Self.spec("web", .reset)) }
            let list = try await Self.rpcError { _ = try await Self.list(agent) }
            let clear = try await Self.rpcError {
                var request = Levee_V1_ClearFaultsRequest()
                request.all = true
                _ = try await agent.admin.clearFaults(request)
            }
            for error in [add, list, clear] {
                #expect(error.code == .failedPrecondition)
                #expect(error.message.contains("chaos.enabled"), "\(error.message)")
            }
            #expect(agent.agent.faults.chaos.enabled == false)
            let call = try await agent.call("web")
            #expect(call.outcome == .ok)
            #expect(call.fault.isEmpty && call.faultedAttempts == 0)
        }
        try await server.stop()
    }

    @Test("HTTP abort: the status without calling the upstream, a real failure for retries and breaker")
    func httpAbort() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml: """
                \(Self.chaos)
                upstreams:
                  web:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 2, backoff: { base: 1ms, max: 2ms } }
                    breaker: { window: { kind: count, size: 4 }, min_calls: 4, failure_rate: 50, open_for: 60s }
                """
        ) { agent in
            let fault = try await Self.add(agent, Self.spec("web", .abort, status: 500))
            #expect(fault.id == "f1")
            #expect(fault.description_p == "abort 500")
            #expect(fault.spec.percent == 100)
            #expect(fault.spec.durationMs == 300_000)
            #expect(fault.source == "cli")

            let call = try await agent.call("web")
            #expect(call.outcome == .upstreamFailure, "\(call.detail)")
            #expect(call.http.status == 500)
            #expect(call.attempts == 2)
            #expect(call.faultedAttempts == 2)
            #expect(call.fault == "f1 abort 500")
            #expect(server.requestCount == 0)

            // The breaker counts the injected failures as real ones: 4 attempts at 100 % opens it.
            _ = try await agent.call("web")
            #expect(try await agent.breaker("web") == .open)
            let info = try await agent.upstream("web")
            #expect(info.faults.map(\.id) == ["f1"])
            #expect(info.faults.first?.hits == 4)

            let (_, metrics) = try await PrometheusText.scrape(try #require(agent.agent.httpAddress))
            #expect(metrics.value("levee_faults_injected_total", ["upstream": "web", "kind": "abort"]) == 4)
        }
        try await server.stop()
    }

    @Test("gRPC abort: the gRPC status without calling the upstream; UNAVAILABLE is UPSTREAM_FAILURE")
    func grpcAbort() async throws {
        try await TestGRPCServer.withServer { server in
            try await AgentHarness.withAgent(
                yaml: """
                    \(Self.chaos)
                    upstreams:
                      echo: { protocol: grpc, endpoints: ["\(server.address)"], retry: { max_attempts: 1 } }
                    """
            ) { agent in
                // The abort must suit the upstream's protocol: --abort on a gRPC upstream names the flag.
                let wrong = try await Self.rpcError {
                    _ = try await Self.add(agent, Self.spec("echo", .abort, status: 503))
                }
                #expect(wrong.code == .invalidArgument)
                #expect(wrong.message.contains("abort-grpc"), "\(wrong.message)")

                let fault = try await Self.add(agent, Self.spec("echo", .abortGrpc, code: 14))
                #expect(fault.description_p == "abort-grpc 14")
                var request = Levee_V1_CallRequest()
                request.upstream = "echo"
                request.grpc.method = "/test.Echo/Echo"
                request.grpc.message = Data("hi".utf8)
                let call = try await agent.guardClient.call(request)
                #expect(call.outcome == .upstreamFailure, "\(call.detail)")
                #expect(call.grpc.code == 14)
                #expect(call.fault == "\(fault.id) abort-grpc 14")
                #expect(server.requestCount == 0)

                // NOT_FOUND is the caller's mistake, even injected: OK for the breaker, returned as is.
                var clear = Levee_V1_ClearFaultsRequest()
                clear.id = fault.id
                #expect(try await agent.admin.clearFaults(clear).cleared == [fault.id])
                _ = try await Self.add(agent, Self.spec("echo", .abortGrpc, code: 5))
                let missing = try await agent.guardClient.call(request)
                #expect(missing.outcome == .ok)
                #expect(missing.grpc.code == 5)

                // Cleared: the real upstream answers.
                var all = Levee_V1_ClearFaultsRequest()
                all.all = true
                _ = try await agent.admin.clearFaults(all)
                let real = try await agent.guardClient.call(request)
                #expect(real.outcome == .ok, "\(real.detail)")
                #expect(real.fault.isEmpty)
                #expect(server.requestCount == 1)
            }
        }
    }

    @Test("Reset fails the attempt as a reset; blackhole runs into the attempt timeout; both reach no upstream")
    func resetAndBlackhole() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml: """
                \(Self.chaos)
                upstreams:
                  web:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    timeouts: { attempt: 300ms, total: 2s }
                """
        ) { agent in
            let reset = try await Self.add(agent, Self.spec("web", .reset))
            let resetCall = try await agent.call("web")
            #expect(resetCall.outcome == .upstreamFailure, "\(resetCall.detail)")
            #expect(resetCall.fault == "\(reset.id) reset")
            #expect(resetCall.detail.contains("reset"))
            _ = try await agent.admin.clearFaults(Self.clear(reset.id))

            let blackhole = try await Self.add(agent, Self.spec("web", .blackhole))
            let started = ContinuousClock.now
            let blackholeCall = try await agent.call("web")
            #expect(blackholeCall.outcome == .timeout, "\(blackholeCall.detail)")
            #expect(blackholeCall.fault == "\(blackhole.id) blackhole")
            // It waited for the attempt's timeout (a lower bound: the behaviour, not a speed).
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            #expect(server.requestCount == 0)
        }
        try await server.stop()
    }

    @Test("Delay waits before the real attempt; past the attempt timeout it times out without calling")
    func delay() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "real")
        try await AgentHarness.withAgent(
            yaml: """
                \(Self.chaos)
                upstreams:
                  web:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    timeouts: { attempt: 1s, total: 3s }
                """
        ) { agent in
            let delay = try await Self.add(agent, Self.spec("web", .delay, delayMs: 200))
            #expect(delay.description_p == "delay 200ms")
            let call = try await agent.call("web")
            #expect(call.outcome == .ok, "\(call.detail)")
            #expect(String(decoding: call.http.body, as: UTF8.self) == "real")
            #expect(call.elapsedUs >= 200_000)
            // The upstream made the answer: the call names no fault, but counts the faulted attempt.
            #expect(call.fault.isEmpty)
            #expect(call.faultedAttempts == 1)
            #expect(server.requestCount == 1)
            _ = try await agent.admin.clearFaults(Self.clear(nil))

            // A delay with an abort after it.
            let both = try await Self.add(agent, Self.spec("web", .abort, status: 503, delayMs: 100))
            #expect(both.description_p == "delay 100ms + abort 503")
            let aborted = try await agent.call("web")
            #expect(aborted.http.status == 503)
            #expect(aborted.fault == "\(both.id) delay 100ms + abort 503")
            #expect(aborted.elapsedUs >= 100_000)
            _ = try await agent.admin.clearFaults(Self.clear(nil))

            // Longer than the attempt's timeout: the attempt times out, the upstream never called.
            let long = try await Self.add(agent, Self.spec("web", .delay, delayMs: 5_000))
            let late = try await agent.call("web")
            #expect(late.outcome == .timeout, "\(late.detail)")
            #expect(late.fault == "\(long.id) delay 5s")
            #expect(server.requestCount == 1)
        }
        try await server.stop()
    }

    @Test("--percent 30 hits 30 % ± 4 % of 2 000 calls; the hits, the calls and the metric agree")
    func percent() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml: """
                \(Self.chaos)
                upstreams:
                  web:
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                    breaker: { window: { kind: count, size: 100 }, min_calls: 100, failure_rate: 100 }
                """
        ) { agent in
            let fault = try await Self.add(agent, Self.spec("web", .abort, status: 503, percent: 30))
            let calls = 2_000
            let faulted = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var hit = 0
                        for _ in stride(from: worker, to: calls, by: 8) {
                            let call = try await agent.call("web")
                            if call.faultedAttempts == 1 {
                                #expect(call.http.status == 503 && call.fault == "\(fault.id) abort 503")
                                hit += 1
                            } else {
                                #expect(call.outcome == .ok && call.fault.isEmpty)
                            }
                        }
                        return hit
                    }
                }
                return try await group.reduce(0, +)
            }
            // Binomial(2000, 0.3): sd ≈ 20.5 calls; ± 80 calls is ± 3.9 sd.
            #expect((520...680).contains(faulted), "\(faulted) of \(calls) calls hit")
            #expect(server.requestCount == calls - faulted)
            let listed = try #require(try await Self.list(agent).first)
            #expect(listed.hits == UInt64(faulted))
            let (_, metrics) = try await PrometheusText.scrape(try #require(agent.agent.httpAddress))
            #expect(
                metrics.value("levee_faults_injected_total", ["upstream": "web", "kind": "abort"]) == Double(faulted)
            )
        }
        try await server.stop()
    }

    @Test("--endpoint makes one endpoint of two sick: its calls fail, the other's go through")
    func oneEndpoint() async throws {
        let sick = try await TestHTTPServer.start()
        let healthy = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml: """
                \(Self.chaos)
                upstreams:
                  web:
                    endpoints: ["\(sick.address)", "\(healthy.address)"]
                    retry: { max_attempts: 1 }
                    breaker: { window: { kind: count, size: 100 }, min_calls: 100, failure_rate: 100 }
                """
        ) { agent in
            let unknown = try await Self.rpcError {
                _ = try await Self.add(agent, Self.spec("web", .reset, endpoint: "127.0.0.1:1"))
            }
            #expect(unknown.code == .invalidArgument)
            #expect(unknown.message.contains("endpoint"), "\(unknown.message)")

            _ = try await Self.add(agent, Self.spec("web", .abort, status: 503, endpoint: sick.address))
            var failedAt: Set<String> = []
            var okAt: Set<String> = []
            for _ in 0..<20 {
                let call = try await agent.call("web")
                if call.outcome == .ok { okAt.insert(call.endpoint) } else { failedAt.insert(call.endpoint) }
            }
            #expect(failedAt == [sick.address])
            #expect(okAt == [healthy.address])
            #expect(sick.requestCount == 0)
            #expect(healthy.requestCount > 0)
        }
        try await sick.stop()
        try await healthy.stop()
    }

    @Test("--header hits only requests carrying that header (HTTP header, gRPC metadata)")
    func headerMatch() async throws {
        let server = try await TestHTTPServer.start()
        try await TestGRPCServer.withServer { grpcServer in
            try await AgentHarness.withAgent(
                yaml: """
                    \(Self.chaos)
                    upstreams:
                      web: { endpoints: ["\(server.address)"], retry: { max_attempts: 1 } }
                      echo: { protocol: grpc, endpoints: ["\(grpcServer.address)"], retry: { max_attempts: 1 } }
                    """
            ) { agent in
                _ = try await Self.add(agent, Self.spec("web", .abort, status: 500, header: ("x-chaos", "yes")))
                _ = try await Self.add(agent, Self.spec("echo", .abortGrpc, code: 14, header: ("x-chaos", "yes")))

                #expect(try await agent.call("web").outcome == .ok)
                var http = Levee_V1_CallRequest()
                http.upstream = "web"
                http.http.method = "GET"
                http.http.path = "/"
                http.http.headers = [
                    .with {
                        $0.name = "X-Chaos"
                        $0.value = "yes"
                    }
                ]
                let tagged = try await agent.guardClient.call(http)
                #expect(tagged.http.status == 500)
                http.http.headers = [
                    .with {
                        $0.name = "x-chaos"
                        $0.value = "no"
                    }
                ]
                #expect(try await agent.guardClient.call(http).outcome == .ok)

                var grpc = Levee_V1_CallRequest()
                grpc.upstream = "echo"
                grpc.grpc.method = "/test.Echo/Echo"
                #expect(try await agent.guardClient.call(grpc).outcome == .ok)
                grpc.grpc.metadata = [
                    .with {
                        $0.name = "x-chaos"
                        $0.value = "yes"
                    }
                ]
                #expect(try await agent.guardClient.call(grpc).grpc.code == 14)
                #expect(server.requestCount == 2)
                #expect(grpcServer.requestCount == 1)
            }
        }
        try await server.stop()
    }

    @Test("A fault expires on time, logged without traffic; the upstream answers again")
    func expiry() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml: "\(Self.chaos)\nupstreams:\n  web: { endpoints: [\"\(server.address)\"], retry: { max_attempts: 1 } }"
        ) { agent in
            // Long enough that the call below meets it even on a loaded machine; short enough to wait out.
            _ = try await Self.add(agent, Self.spec("web", .abort, status: 500, durationMs: 2_000))
            #expect(try await agent.call("web").http.status == 500)
            try await eventually("the fault has expired") { try await Self.list(agent).isEmpty }
            #expect(try await agent.call("web").outcome == .ok)
        }
        try await server.stop()
    }

    @Test("chaos.max_active refuses one fault too many; chaos.max_duration caps --for")
    func bounds() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml: """
                chaos: { enabled: true, max_active: 2, max_duration: 1m }
                upstreams:
                  web: { endpoints: ["\(server.address)"] }
                """
        ) { agent in
            let capped = try await Self.add(agent, Self.spec("web", .reset, durationMs: 600_000))
            #expect(capped.spec.durationMs == 60_000)
            #expect(capped.remainingMs <= 60_000)
            _ = try await Self.add(agent, Self.spec("web", .reset))
            let third = try await Self.rpcError { _ = try await Self.add(agent, Self.spec("web", .reset)) }
            #expect(third.code == .resourceExhausted)
            #expect(third.message.contains("chaos.max_active"), "\(third.message)")

            let unknown = try await Self.rpcError { _ = try await Self.add(agent, Self.spec("nope", .reset)) }
            #expect(unknown.code == .notFound)
            let badPercent = try await Self.rpcError {
                _ = try await Self.add(agent, Self.spec("web", .reset, percent: 150))
            }
            #expect(badPercent.code == .invalidArgument)
            #expect(badPercent.message.contains("percent"))
            let noID = try await Self.rpcError { _ = try await agent.admin.clearFaults(Self.clear("f9")) }
            #expect(noID.code == .notFound)
            let listed = try await agent.admin.listFaults(Levee_V1_ListFaultsRequest())
            #expect(listed.maxActive == 2 && listed.maxDurationMs == 60_000 && listed.enabled)
        }
        try await server.stop()
    }

    @Test("A reload keeps the faults; a reload that turns chaos off clears them")
    func reload() async throws {
        let server = try await TestHTTPServer.start()
        let upstreams = "upstreams:\n  web: { endpoints: [\"\(server.address)\"], retry: { max_attempts: 1 } }"
        try await AgentHarness.withAgent(yaml: "\(Self.chaos)\n\(upstreams)") { agent in
            let fault = try await Self.add(agent, Self.spec("web", .abort, status: 500))
            try agent.rewriteFile(
                "chaos: { enabled: true, max_active: 3 }\n\(upstreams)\n  other: { endpoints: [\"\(server.address)\"] }"
            )
            _ = try await agent.admin.reload(Levee_V1_ReloadRequest())
            #expect(try await Self.list(agent).map(\.id) == [fault.id])
            #expect(try await agent.admin.listFaults(Levee_V1_ListFaultsRequest()).maxActive == 3)
            #expect(try await agent.call("web").http.status == 500)

            try agent.rewriteFile(upstreams)
            _ = try await agent.admin.reload(Levee_V1_ReloadRequest())
            let off = try await Self.rpcError { _ = try await Self.list(agent) }
            #expect(off.code == .failedPrecondition)
            #expect(try await agent.call("web").outcome == .ok)
            #expect(agent.agent.faults.list().isEmpty)
        }
        try await server.stop()
    }

    @Test("Through the proxy listener: the injected answer, with x-levee-fault")
    func proxyHeader() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml:
                "\(Self.chaos)\nupstreams:\n  web: { endpoints: [\"\(server.address)\"], retry: { max_attempts: 1 } }",
            proxy: "127.0.0.1:0"
        ) { agent in
            let plain = try await ProxyListenerTests.send(agent, host: "web")
            #expect(plain.status == 200)
            #expect(plain.header("x-levee-fault") == nil)
            let fault = try await Self.add(agent, Self.spec("web", .abort, status: 503))
            let answer = try await ProxyListenerTests.send(agent, host: "web")
            #expect(answer.status == 503)
            #expect(answer.header("x-levee-fault") == "\(fault.id) abort 503")
            #expect(answer.header("x-levee-faulted-attempts") == "1")
            #expect(answer.header("x-levee-outcome") == "upstream_failure")
            #expect(server.requestCount == 1)
        }
        try await server.stop()
    }
}
