import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Logging
import NIOHTTP1
import Synchronization
import Testing

/// The registry on the manual clock: reloads retire runtimes, which are closed once idle and only then.
@Suite struct UpstreamRegistryTests {
    /// A registry whose runtimes all answer through one scripted executor each, kept for the test.
    final class Executors: Sendable {
        let clock: TestClock
        let made = Mutex<[String: [ScriptedExecutor]]>([:])

        init(clock: TestClock) { self.clock = clock }

        func make(_ upstream: UpstreamConfiguration) -> any UpstreamExecutor {
            let executor = ScriptedExecutor(clock: clock)
            made.withLock { $0[upstream.name, default: []].append(executor) }
            return executor
        }

        func of(_ name: String) -> [ScriptedExecutor] {
            made.withLock { $0[name] ?? [] }
        }
    }

    static func registry(_ policy: String, clock: TestClock, executors: Executors) throws -> UpstreamRegistry {
        try UpstreamRegistry(
            configuration: try RuntimeHarness.configuration(endpoints: ["10.0.0.1:80"], policy),
            clock: clock,
            randomSeed: 1,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clientRunner: GRPCClientRunner(),
            makeExecutor: { executors.make($0) }
        )
    }

    @Test("A reload that changes an upstream retires its runtime, closed once its call in flight ends")
    func retiredRuntimeClosedWhenIdle() async throws {
        let clock = TestClock()
        let executors = Executors(clock: clock)
        let registry = try Self.registry("retry: { max_attempts: 1 }", clock: clock, executors: executors)
        let old = executors.of("pay")[0]
        old.script(.after(.milliseconds(100), .http(200, body: "old")))
        let request = HTTPUpstreamRequest(method: .GET, target: "/")
        let call = Task {
            try await registry.withRuntime(named: "pay", protocolKind: .http) { runtime in
                await runtime.call(.http(request), options: GuardedCallOptions())
            }
        }
        await clock.waitForSleepers(1)
        let summary = try registry.reload(
            try RuntimeHarness.configuration(endpoints: ["10.0.0.1:80"], "retry: { max_attempts: 2 }")
        )
        #expect(summary.changed == ["pay"])
        await registry.housekeeping()
        #expect(old.shutdowns == 0, "closed under a call in flight")

        clock.advance(by: .milliseconds(100))
        #expect(try await call.value.outcome == .ok)
        await registry.housekeeping()
        #expect(old.shutdowns == 1)
        await registry.housekeeping()
        #expect(old.shutdowns == 1)
        #expect(executors.of("pay")[1].shutdowns == 0)
    }

    @Test("Housekeeping asks each retired runtime once whether it is idle: one that turns idle is kept, not dropped")
    func takeIdleAsksOnce() {
        final class Retired {
            var answers: [Bool]
            init(_ answers: [Bool]) { self.answers = answers }
        }
        // Busy when first asked, idle when asked again: asking twice (filter, then removeAll) would drop
        // it from the list without returning it for closing.
        let flipping = Retired([false, true])
        let idle = Retired([true, true])
        var retired = [flipping, idle]
        let taken = UpstreamRegistry.takeIdle(from: &retired) { $0.answers.removeFirst() }
        #expect(taken.count == 1 && taken[0] === idle)
        #expect(retired.count == 1 && retired[0] === flipping)
    }

    @Test("An unknown upstream is NOT_FOUND naming the known ones; a protocol mismatch is INVALID_ARGUMENT")
    func lookupErrors() async throws {
        let clock = TestClock()
        let registry = try Self.registry("", clock: clock, executors: Executors(clock: clock))
        #expect(
            throws: UpstreamLookupError(
                .notFound,
                "upstream: no upstream named \"nope\"; known: pay (dynamic upstreams are off: add it under upstreams in the configuration)"
            )
        ) {
            try registry.runtime(named: "nope", protocolKind: .http)
        }
        #expect(
            throws: UpstreamLookupError(.invalidArgument, "request: upstream pay speaks http, but the request is grpc")
        ) {
            try registry.runtime(named: "pay", protocolKind: .grpc)
        }
    }

    @Test("The change signal wakes a waiter on the next change, and only then")
    func changeSignal() async {
        let signal = ChangeSignal()
        let version = signal.version
        final class Flag: Sendable {
            let raised = Atomic<Bool>(false)
        }
        let woken = Flag()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await signal.wait(after: version)
                woken.raised.store(true, ordering: .sequentiallyConsistent)
            }
            await Task.yield()
            let early = woken.raised.load(ordering: .sequentiallyConsistent)
            #expect(!early)
            signal.notify()
        }
        let late = woken.raised.load(ordering: .sequentiallyConsistent)
        #expect(late)
        // A waiter that comes after the change returns at once.
        #expect(await signal.wait(after: version) == version + 1)
    }
}
