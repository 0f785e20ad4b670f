import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// gRPC upstreams: unary calls forwarded as opaque bytes, statuses classified, deadlines propagated.
@Suite(.timeLimit(.minutes(2)))
struct GRPCForwardingTests {
    static func request(
        _ method: String = "/test.Echo/Echo",
        message: String,
        timeoutMs: UInt32 = 0
    ) -> Levee_V1_CallRequest {
        var request = Levee_V1_CallRequest()
        request.upstream = "echo"
        request.grpc.method = method
        request.grpc.message = Data(message.utf8)
        var header = Levee_V1_Header()
        header.name = "x-tenant"
        header.value = "acme"
        request.grpc.metadata = [header]
        request.timeoutMs = timeoutMs
        return request
    }

    @Test("A unary call is forwarded as bytes with its metadata, and the deadline goes as grpc-timeout")
    func unaryForwarded() async throws {
        try await TestGRPCServer.withServer { server in
            try await AgentHarness.withAgent(
                yaml: """
                    upstreams:
                      echo:
                        protocol: grpc
                        endpoints: ["\(server.address)"]
                        retry: { max_attempts: 2, idempotent_methods: ["/test.Echo/Echo"], backoff: { base: 1ms, max: 2ms } }
                    """
            ) { agent in
                // A generous deadline: the first call also opens the connection, on a loaded machine.
                let response = try await agent.guardClient.call(Self.request(message: "hello", timeoutMs: 3_000))
                #expect(response.outcome == .ok, "\(response.detail)")
                #expect(response.grpc.code == 0)
                #expect(String(decoding: response.grpc.body, as: UTF8.self) == "hello")
                #expect(server.requests.last?.metadata.first { $0.0 == "x-tenant" }?.1 == "acme")
                let timeout = try #require(server.lastTimeout)
                #expect(timeout > .zero && timeout <= .milliseconds(3_000))

                // UNAVAILABLE is a failure: retried (the method is idempotent), then UPSTREAM_FAILURE.
                server.behaviour = .fail(code: .unavailable, message: "down for maintenance")
                let before = server.requestCount
                let failed = try await agent.guardClient.call(Self.request(message: "again"))
                #expect(failed.outcome == .upstreamFailure)
                #expect(failed.grpc.code == UInt32(RPCError.Code.unavailable.rawValue))
                #expect(failed.grpc.message == "down for maintenance")
                #expect(failed.attempts == 2)
                #expect(server.requestCount == before + 2)

                // NOT_FOUND is the caller's problem: OK for the breaker, returned as is, not retried.
                server.behaviour = .fail(code: .notFound, message: "no such order")
                let missing = try await agent.guardClient.call(Self.request(message: "x"))
                #expect(missing.outcome == .ok)
                #expect(missing.grpc.code == UInt32(RPCError.Code.notFound.rawValue))
                #expect(missing.attempts == 1)
            }
        }
    }

    @Test("A stalled gRPC upstream times out at the attempt timeout")
    func stalledUpstreamTimesOut() async throws {
        try await TestGRPCServer.withServer { server in
            server.behaviour = .stall(.seconds(10), then: .echo)
            try await AgentHarness.withAgent(
                yaml: """
                    upstreams:
                      echo:
                        protocol: grpc
                        endpoints: ["\(server.address)"]
                        timeouts: { connect: 200ms, attempt: 300ms, total: 1s }
                        retry: { max_attempts: 1 }
                    """
            ) { agent in
                let response = try await agent.guardClient.call(Self.request(message: "slow"))
                #expect(response.outcome == .timeout, "\(response.detail)")
                #expect(response.attempts == 1)
            }
        }
    }

    @Test("An endpoint nobody listens on is a connect failure, retried on the next endpoint")
    func connectFailureToGRPCEndpoint() async throws {
        try await TestGRPCServer.withServer { server in
            try await AgentHarness.withAgent(
                yaml: """
                    upstreams:
                      echo:
                        protocol: grpc
                        endpoints: ["127.0.0.1:1", "\(server.address)"]
                        load_balancing: { policy: round_robin }
                        retry: { max_attempts: 2, backoff: { base: 1ms, max: 2ms } }
                    """
            ) { agent in
                let response = try await agent.guardClient.call(Self.request(message: "hi"))
                #expect(response.outcome == .ok, "\(response.detail)")
                #expect(response.attempts == 2)
                #expect(response.endpoint == server.address)
            }
        }
    }
}
