import Foundation
import GRPCCore
import LeveeAPI
import LeveeAgent
import LeveeTestKit
import Testing

@Suite struct GuardServiceAcquireTests {
    @Test("Acquire honours its own grpc-timeout: a retry whose backoff outlasts it is refused")
    func acquireHonoursTheRPCDeadline() async throws {
        let clock = TestClock()
        let executors = UpstreamRegistryTests.Executors(clock: clock)
        let registry = try UpstreamRegistryTests.registry(
            "retry: { max_attempts: 3, backoff: { base: 100ms, max: 100ms, jitter: none } }",
            clock: clock,
            executors: executors
        )
        let service = GuardService(registry: registry, clock: clock)
        var message = Levee_V1_AcquireRequest()
        message.upstream = "pay"
        message.attempt = 1
        try await withServerContextRPCCancellationHandle { cancellation in
            let context = ServerContext(
                descriptor: Levee_V1_Guard.Method.Acquire.descriptor,
                remotePeer: "test",
                localPeer: "test",
                cancellation: cancellation
            )
            // 50 ms left on the RPC: the 100 ms backoff does not fit.
            let short = try await service.acquire(
                request: ServerRequest(metadata: ["grpc-timeout": "50m"], message: message),
                context: context
            ).message
            #expect(!short.granted)
            #expect(short.denyReason == .deadline)
            // With time enough, the same retry is granted after its backoff.
            let long = try await service.acquire(
                request: ServerRequest(metadata: ["grpc-timeout": "2S"], message: message),
                context: context
            ).message
            #expect(long.granted)
            #expect(long.backoffMs == 100)
        }
    }
}
