import GRPCCore
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Logging
import Synchronization
import Testing

/// `Watch` on the manual clock: a change is sent when it happens, not at the next poll, and changes
/// that come while the watcher rests (`watchInterval`) are sent together.
@Suite struct GuardServiceWatchTests {
    /// Collects what `Watch` writes.
    final class Events: RPCWriterProtocol, Sendable {
        let written = Mutex<[Levee_V1_WatchEvent]>([])

        func write(_ element: Levee_V1_WatchEvent) async throws {
            written.withLock { $0.append(element) }
        }

        func write(contentsOf elements: some Sequence<Levee_V1_WatchEvent>) async throws {
            for element in elements { try await write(element) }
        }

        var count: Int { written.withLock { $0.count } }
        var last: Levee_V1_WatchEvent? { written.withLock { $0.last } }
    }

    @Test("A breaker change reaches a watcher at once; later changes wait out the rest interval")
    func changesAreSentWhenTheyHappen() async throws {
        let clock = TestClock()
        let executors = UpstreamRegistryTests.Executors(clock: clock)
        let registry = try UpstreamRegistryTests.registry("", clock: clock, executors: executors)
        // An hour between events: a watcher that polled would send nothing within this test.
        let service = GuardService(registry: registry, clock: clock, watchInterval: .seconds(3_600))
        let events = Events()
        try await withServerContextRPCCancellationHandle { cancellation in
            let context = ServerContext(
                descriptor: Levee_V1_Guard.Method.Watch.descriptor,
                remotePeer: "test",
                localPeer: "test",
                cancellation: cancellation
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await service.watch(
                        request: Levee_V1_WatchRequest(),
                        response: RPCWriter(wrapping: events),
                        context: context
                    )
                }
                try #require(try await eventually(within: .seconds(5)) { events.count == 1 })
                #expect(events.last?.snapshot == true)

                let runtime = try registry.runtime(named: "pay", protocolKind: .http)
                _ = runtime.setBreaker(.open)
                try #require(try await eventually(within: .seconds(5)) { events.count == 2 })
                #expect(events.last?.upstreams.first?.breaker == .forcedOpen)
                #expect(events.last?.upstreams.first?.source == .operator)

                // The watcher now rests an hour on the clock; a second change waits for it.
                await clock.waitForSleepers(1)
                _ = runtime.setBreaker(nil)
                clock.advance(by: .seconds(3_599))
                #expect(events.count == 2)
                clock.advance(by: .seconds(1))
                try #require(try await eventually(within: .seconds(5)) { events.count == 3 })
                #expect(events.last?.upstreams.first?.breaker == .closed)
                group.cancelAll()
            }
        }
    }
}
