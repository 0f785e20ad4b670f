import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import NIOCore
import NIOPosix
import Testing

/// The Guard API's contract beyond the happy path: bad input, unknown names, deadlines, leases, Watch.
@Suite(.timeLimit(.minutes(2)))
struct GuardAPITests {
    @Test(
        "An unknown upstream is NOT_FOUND naming the known ones; malformed requests are INVALID_ARGUMENT naming the field"
    )
    func badRequestsAreRefusedByField() async throws {
        let server = try await TestHTTPServer.start()
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  inventory: { endpoints: ["\(server.address)"] }
                """
        ) { agent in
            await #expect {
                _ = try await agent.call("payments")
            } throws: { error in
                let error = error as? RPCError
                return error?.code == .notFound && error!.message.contains("payments")
                    && error!.message.contains("inventory")
            }
            await #expect {
                _ = try await agent.call("inventory", "GET", "no-slash")
            } throws: { error in
                let error = error as? RPCError
                return error?.code == .invalidArgument && error!.message.hasPrefix("http.path")
            }
            await #expect {
                _ = try await agent.call("inventory", "GE T", "/")
            } throws: { error in
                (error as? RPCError)?.code == .invalidArgument && (error as! RPCError).message.hasPrefix("http.method")
            }
            var empty = Levee_V1_CallRequest()
            empty.upstream = "inventory"
            await #expect {
                _ = try await agent.guardClient.call(empty)
            } throws: { error in
                (error as? RPCError)?.code == .invalidArgument && (error as! RPCError).message.hasPrefix("request")
            }
            var grpc = Levee_V1_CallRequest()
            grpc.upstream = "inventory"
            grpc.grpc.method = "/pkg.Service/Method"
            await #expect {
                _ = try await agent.guardClient.call(grpc)
            } throws: { error in
                (error as? RPCError)?.code == .invalidArgument && (error as! RPCError).message.contains("speaks http")
            }
            var release = Levee_V1_ReleaseRequest()
            release.permitID = "inventory/0000"
            await #expect {
                _ = try await agent.guardClient.release(release)
            } throws: { error in
                (error as? RPCError)?.code == .notFound && (error as! RPCError).message.hasPrefix("permit_id")
            }
            #expect(server.requestCount == 0)
        }
        try await server.stop()
    }

    @Test("A deadline already spent when the call arrives sends nothing")
    func expiredDeadlineSendsNothing() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "ok")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  inventory: { endpoints: ["\(server.address)"] }
                """
        ) { agent in
            var request = Levee_V1_CallRequest()
            request.upstream = "inventory"
            request.http.path = "/"
            // The Guard RPC's own deadline (1 ms) is within the agent's margin: already spent.
            var options = GRPCCore.CallOptions.defaults
            options.timeout = .milliseconds(1)
            for _ in 0..<5 {
                do {
                    let response = try await agent.guardClient.call(request, options: options)
                    #expect(response.outcome == .timeout)
                    #expect(response.attempts == 0)
                } catch let error as RPCError {
                    #expect(error.code == .deadlineExceeded)
                }
            }
            #expect(server.requestCount == 0)
            // The same call with time to spare goes through.
            #expect(try await agent.guardClient.call(request).outcome == .ok)
            #expect(server.requestCount == 1)
        }
        try await server.stop()
    }

    @Test("The deadline is propagated: x-levee-timeout-ms carries the time left")
    func deadlinePropagatedToHTTP() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "ok")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  inventory: { endpoints: ["\(server.address)"], timeouts: { connect: 1s, attempt: 2s, total: 5s } }
                """
        ) { agent in
            _ = try await agent.call("inventory", "GET", "/", timeoutMs: 800)
            let header = server.requests.last?.header("x-levee-timeout-ms")
            let milliseconds = try #require(header.flatMap { Int($0) })
            #expect(milliseconds > 0 && milliseconds <= 800)
        }
        try await server.stop()
    }

    @Test("The attempt's deadline also bounds a body that stalls after the response head")
    func deadlineBoundsStalledBody() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .stallBody(.seconds(30), status: 200, body: "late")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  inventory: { endpoints: ["\(server.address)"], timeouts: { connect: 1s, attempt: 20s, total: 25s } }
                """
        ) { agent in
            // The read timeout is the attempt timeout, 20 s: only the call's own 1 s can end it. (Not
            // less: on a loaded machine the request must still reach the server within it.)
            let response = try await agent.call("inventory", "GET", "/", timeoutMs: 1000)
            #expect(response.outcome == .timeout)
            #expect(response.elapsedUs < 10_000_000)
            #expect(try await eventually(within: .seconds(5)) { server.requestCount == 1 })
        }
        try await server.stop()
    }

    @Test("A permit not released within its lease is recorded as a timeout and its slot freed")
    func leaseExpiryFreesTheSlot() async throws {
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  database:
                    endpoints: ["127.0.0.1:5432"]
                    bulkhead: { max_concurrent: 1, max_queue: 0, queue_timeout: 0ms, reserved_critical: 0 }
                """
        ) { agent in
            var acquire = Levee_V1_AcquireRequest()
            acquire.upstream = "database"
            acquire.leaseMs = 1_000
            let first = try await agent.guardClient.acquire(acquire)
            #expect(first.granted)
            #expect(first.endpoint == "127.0.0.1:5432")
            let second = try await agent.guardClient.acquire(acquire)
            #expect(!second.granted, "\(second)")
            #expect(second.deniedBy == .bulkheadFull)

            try await eventually("the lease expires and the slot is free again") {
                try await agent.guardClient.acquire(acquire).granted
            }
            var release = Levee_V1_ReleaseRequest()
            release.permitID = first.permitID
            await #expect(throws: RPCError.self) { _ = try await agent.guardClient.release(release) }
            let info = try await agent.upstream("database")
            #expect(info.counters.timeout >= 1)
        }
    }

    @Test("Acquire and Release: results reach the breaker; a retry gets a backoff or is denied")
    func acquireReleaseDrivesTheBreaker() async throws {
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  vendor:
                    endpoints: ["127.0.0.1:443"]
                    retry: { max_attempts: 2, backoff: { base: 10ms, max: 50ms } }
                    breaker: { window: { kind: count, size: 10 }, min_calls: 4, failure_rate: 50, open_for: 10s }
                """
        ) { agent in
            for _ in 0..<4 {
                var acquire = Levee_V1_AcquireRequest()
                acquire.upstream = "vendor"
                let permit = try await agent.guardClient.acquire(acquire)
                #expect(permit.granted)
                var release = Levee_V1_ReleaseRequest()
                release.permitID = permit.permitID
                release.result = .failure
                release.durationUs = 1_000
                _ = try await agent.guardClient.release(release)
            }
            #expect(try await agent.breaker("vendor") == .open)
            var acquire = Levee_V1_AcquireRequest()
            acquire.upstream = "vendor"
            let denied = try await agent.guardClient.acquire(acquire)
            #expect(!denied.granted && denied.deniedBy == .circuitOpen && denied.retryAfterMs > 0)

            var reset = Levee_V1_SetBreakerRequest()
            reset.upstream = "vendor"
            reset.action = .reset
            _ = try await agent.admin.setBreaker(reset)
            acquire.attempt = 1
            let retry = try await agent.guardClient.acquire(acquire)
            #expect(retry.granted)
            #expect(retry.backoffMs <= 50)
            acquire.attempt = 2
            let tooMany = try await agent.guardClient.acquire(acquire)
            #expect(!tooMany.granted && tooMany.denyReason == .maxAttempts)
        }
    }

    @Test("Garbage on the socket does not hurt the agent")
    func garbageOnTheSocket() async throws {
        try await AgentHarness.withAgent(yaml: "upstreams: {}") { agent in
            let path = agent.configuration.listen.socket
            for size in [1, 24, 100, 5_000, 70_000] {
                var garbage = [UInt8](repeating: 0, count: size)
                for index in garbage.indices { garbage[index] = UInt8.random(in: 0...255) }
                try await RawSocket.sendAndClose(unixPath: path, bytes: garbage)
            }
            // An HTTP/2 preface followed by nonsense frames.
            try await RawSocket.sendAndClose(
                unixPath: path,
                bytes: Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 4, 9, 9, 9, 9, 9, 9, 1, 2, 3, 4]
            )
            _ = try await agent.guardClient.ping(Levee_V1_PingRequest())
            #expect(try await agent.admin.status(Levee_V1_StatusRequest()).upstreams == 0)
        }
    }

    @Test("Watch sends every upstream at once, then each change")
    func watchStreamsChanges() async throws {
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  alpha: { endpoints: ["127.0.0.1:1"] }
                  beta: { endpoints: ["127.0.0.1:2"] }
                """
        ) { agent in
            try await agent.guardClient.watch(Levee_V1_WatchRequest()) { response in
                var events = response.messages.makeAsyncIterator()
                let first = try #require(try await events.next())
                #expect(first.snapshot)
                #expect(first.upstreams.map(\.name) == ["alpha", "beta"])
                #expect(first.upstreams.allSatisfy { $0.breaker == .closed && $0.totalEndpoints == 1 })

                var force = Levee_V1_SetBreakerRequest()
                force.upstream = "beta"
                force.action = .open
                _ = try await agent.admin.setBreaker(force)
                let change = try #require(try await events.next())
                #expect(!change.snapshot)
                #expect(change.upstreams.map(\.name) == ["beta"])
                #expect(change.upstreams.first?.breaker == .forcedOpen)
                #expect(change.upstreams.first?.source == .operator)
            }
        }
    }
}
