import LeveeAgent
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Testing

/// The adaptive bulkhead limit in `UpstreamRuntime.call`, on the manual clock with the scripted
/// executor: no socket, no sleep. Each round sends as many calls as the limit admits, all answered after
/// the same latency, so the limit decides how many calls are in flight, as it does under a closed loop.
@Suite(.timeLimit(.minutes(1))) struct UpstreamRuntimeAdaptiveTests {
    static func policy(_ algorithm: String) -> String {
        """
        timeouts: { connect: 1s, attempt: 1s, total: 2s }
        retry: { max_attempts: 1 }
        bulkhead:
          max_queue: 0
          reserved_critical: 0
          adaptive: { algorithm: \(algorithm), min: 2, max: 32, initial: 8, timeout: 40ms }
        """
    }

    /// One round: the limit's worth of calls at once, each answered `latency` later on the clock. Returns
    /// the limit the round started with.
    @discardableResult
    static func round(_ harness: RuntimeHarness, latency: Duration) async -> Int {
        let limit = harness.runtime.info().maxConcurrent
        for _ in 0..<limit { harness.executor.script(.after(latency, .http(200))) }
        let calls = (0..<limit).map { _ in harness.start() }
        await harness.advance(by: latency, once: limit)
        for call in calls {
            let result = await call.value
            #expect(result.outcome == .ok)
        }
        return limit
    }

    /// Runs rounds at `latency` until `done` holds for the limit, at most `rounds` of them; returns the
    /// limits seen.
    static func rounds(
        _ harness: RuntimeHarness,
        latency: Duration,
        upTo rounds: Int,
        until done: (Int) -> Bool
    ) async -> [Int] {
        var seen: [Int] = []
        for _ in 0..<rounds {
            seen.append(await round(harness, latency: latency))
            let limit = harness.runtime.info().maxConcurrent
            seen.append(limit)
            if done(limit) { break }
        }
        return seen
    }

    @Test(
        "The limit grows while the upstream is fast, falls when it turns slow, and rises again",
        arguments: ["aimd", "gradient2"]
    )
    func limitFollowsTheLatency(algorithm: String) async throws {
        let harness = try RuntimeHarness(Self.policy(algorithm))
        #expect(harness.runtime.info().maxConcurrent == 8)

        // 10 ms while every slot is busy: both grow (AIMD by one a window, Gradient2 by its queue).
        let grew = await Self.rounds(harness, latency: .milliseconds(10), upTo: 300) { $0 >= 16 }
        #expect(grew.last.map { $0 >= 16 } == true, "\(algorithm): \(grew)")

        // 100 ms: AIMD's windows pass its 40 ms `timeout`; Gradient2's pass 1.5 × its long RTT.
        let fell = await Self.rounds(harness, latency: .milliseconds(100), upTo: 300) { $0 <= 6 }
        #expect(fell.last.map { $0 <= 6 } == true, "\(algorithm): \(fell)")
        let slow = try #require(harness.runtime.info().adaptive)
        #expect(slow.shortRTT == .milliseconds(100))

        // Fast again: it rises.
        let rose = await Self.rounds(harness, latency: .milliseconds(10), upTo: 300) { $0 >= 16 }
        #expect(rose.last.map { $0 >= 16 } == true, "\(algorithm): \(rose)")

        for limit in grew + fell + rose { #expect((2...32).contains(limit)) }
        let info = harness.runtime.info()
        #expect(info.inFlight == 0)
        #expect(info.adaptive?.samples ?? 0 > 0)
    }
}
