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

    @Test("A permit granted before a reload is released to the runtime that granted it; one never released expires")
    func permitsOutliveAReload() async throws {
        let clock = TestClock()
        let executors = UpstreamRegistryTests.Executors(clock: clock)
        let registry = try UpstreamRegistryTests.registry(
            "retry: { max_attempts: 1 }",
            clock: clock,
            executors: executors
        )
        let service = GuardService(registry: registry, clock: clock)
        try await withServerContextRPCCancellationHandle { cancellation in
            func context(_ method: MethodDescriptor) -> ServerContext {
                ServerContext(descriptor: method, remotePeer: "test", localPeer: "test", cancellation: cancellation)
            }
            var acquire = Levee_V1_AcquireRequest()
            acquire.upstream = "pay"
            acquire.leaseMs = 1_000
            let released = try await service.acquire(
                request: ServerRequest(metadata: [:], message: acquire),
                context: context(Levee_V1_Guard.Method.Acquire.descriptor)
            ).message
            let forgotten = try await service.acquire(
                request: ServerRequest(metadata: [:], message: acquire),
                context: context(Levee_V1_Guard.Method.Acquire.descriptor)
            ).message
            #expect(released.granted && forgotten.granted)

            // A reload that changes the upstream retires the runtime that granted both permits.
            _ = try registry.reload(
                try RuntimeHarness.configuration(endpoints: ["10.0.0.1:80"], "retry: { max_attempts: 2 }")
            )
            var release = Levee_V1_ReleaseRequest()
            release.permitID = released.permitID
            release.result = .success
            let answer = try await service.release(
                request: ServerRequest(metadata: [:], message: release),
                context: context(Levee_V1_Guard.Method.Release.descriptor)
            ).message
            #expect(answer.breaker == .closed)
            let old = executors.of("pay")[0]
            await registry.housekeeping()
            #expect(old.shutdowns == 0, "closed while a permit it granted is still out")

            // The permit never released expires on the retired runtime, which then closes.
            clock.advance(by: .milliseconds(1_001))
            await registry.housekeeping()
            await registry.housekeeping()
            #expect(old.shutdowns == 1)
            release.permitID = forgotten.permitID
            await #expect(throws: RPCError.self) {
                _ = try await service.release(
                    request: ServerRequest(metadata: [:], message: release),
                    context: context(Levee_V1_Guard.Method.Release.descriptor)
                )
            }
        }
    }
}
