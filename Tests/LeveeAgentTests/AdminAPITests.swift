import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// The operator's API: status, upstreams, breaker overrides, reload.
@Suite(.timeLimit(.minutes(2)))
struct AdminAPITests {
    @Test("Forcing a breaker open rejects calls; forcing it closed lets failures through; reset hands it back")
    func breakerOverrides() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "ok")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  payments: { endpoints: ["\(server.address)"] }
                """
        ) { agent in
            var request = Levee_V1_SetBreakerRequest()
            request.upstream = "payments"
            request.action = .open
            let opened = try await agent.admin.setBreaker(request)
            #expect(opened.previous == .closed && opened.current == .forcedOpen)
            let rejected = try await agent.call("payments")
            #expect(rejected.outcome == .circuitOpen)
            #expect(rejected.detail.contains("operator"))
            #expect(server.requestCount == 0)
            let info = try await agent.upstream("payments")
            #expect(info.breaker.source == .operator)

            request.action = .close
            #expect(try await agent.admin.setBreaker(request).current == .forcedClosed)
            #expect(try await agent.call("payments").outcome == .ok)

            request.action = .reset
            #expect(try await agent.admin.setBreaker(request).current == .closed)
            #expect(try await agent.upstream("payments").breaker.source == .local)

            request.upstream = "nope"
            await #expect {
                _ = try await agent.admin.setBreaker(request)
            } throws: { error in
                (error as? RPCError)?.code == .notFound
            }
        }
        try await server.stop()
    }

    @Test("Status describes the agent")
    func status() async throws {
        try await AgentHarness.withAgent(
            yaml: """
                service: orders
                upstreams:
                  payments: { endpoints: ["127.0.0.1:9"] }
                """
        ) { agent in
            let status = try await agent.admin.status(Levee_V1_StatusRequest())
            #expect(status.service == "orders")
            #expect(status.upstreams == 1)
            #expect(status.socket == agent.configuration.listen.socket)
            #expect(status.pid == ProcessInfo.processInfo.processIdentifier)
            #expect(status.configPath.hasSuffix("levee.yaml"))
        }
    }

    @Test("Reload swaps a valid file in, keeps unchanged upstreams' state, and refuses an invalid one whole")
    func reload() async throws {
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "ok")
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  payments: { endpoints: ["\(server.address)"] }
                  inventory: { endpoints: ["\(server.address)"] }
                """
        ) { agent in
            _ = try await agent.call("payments")
            try agent.rewriteFile(
                """
                upstreams:
                  payments: { endpoints: ["\(server.address)"] }
                  shipping: { endpoints: ["\(server.address)"] }
                """
            )
            let summary = try await agent.admin.reload(Levee_V1_ReloadRequest())
            #expect(summary.configGeneration == 1)
            #expect(summary.added == ["shipping"])
            #expect(summary.removed == ["inventory"])
            #expect(summary.unchanged == ["payments"])
            // Unchanged: the same runtime, counters and all.
            #expect(try await agent.upstream("payments").counters.calls == 1)
            #expect(try await agent.call("shipping").outcome == .ok)
            await #expect(throws: RPCError.self) { _ = try await agent.call("inventory") }

            try agent.rewriteFile(
                """
                upstreams:
                  payments: { endpoints: ["\(server.address)"], breaker: { min_calls: 0 } }
                """
            )
            await #expect {
                _ = try await agent.admin.reload(Levee_V1_ReloadRequest())
            } throws: { error in
                let error = error as? RPCError
                return error?.code == .invalidArgument
                    && error!.message.contains("upstreams.payments.breaker.min_calls")
            }
            #expect(try await agent.admin.status(Levee_V1_StatusRequest()).configGeneration == 1)
            #expect(try await agent.call("shipping").outcome == .ok)
        }
        try await server.stop()
    }
}
