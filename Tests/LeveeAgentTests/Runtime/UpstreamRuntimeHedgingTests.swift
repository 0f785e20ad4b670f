import LeveeAgent
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Testing

/// Hedging in `UpstreamRuntime.call`, on the manual clock with the scripted executor: no socket, no
/// sleep. A stalled attempt never answers; it ends only when the call abandons it.
@Suite struct UpstreamRuntimeHedgingTests {
    static let hedging = """
        timeouts: { connect: 1s, attempt: 1s, total: 2s }
        retry: { max_attempts: 1 }
        hedge: { delay: 50ms, max: 1 }
        load_balancing: { policy: round_robin }
        """

    @Test("A hedge goes to the other endpoint after the delay, wins, and the stalled attempt is abandoned")
    func hedgeWinsAgainstAStalledEndpoint() async throws {
        let harness = try RuntimeHarness(Self.hedging)
        harness.executor.script(.stall, .http(200, body: "hedge"))
        let call = harness.start()
        // The stalled attempt and the hedge timer sleep on the clock.
        await harness.advance(by: .milliseconds(50), once: 2)
        let result = await call.value
        #expect(result.outcome == .ok)
        #expect(result.text == "hedge")
        #expect(result.attempts == 2)
        #expect(result.hedges == 1)
        #expect(result.decidingAttempt == 2)
        #expect(result.elapsed == .milliseconds(50))
        let sent = harness.executor.sent
        #expect(sent.count == 2)
        #expect(sent[0].endpoint != sent[1].endpoint)
        #expect(sent[1].remaining == .milliseconds(1_950))
        #expect(result.endpoint == sent[1].endpoint)
        // The abandoned attempt says nothing about the upstream: only the hedge was recorded.
        let info = harness.runtime.info()
        #expect(info.counters.attempts == 1)
        #expect(info.counters.retries == 0)
        #expect(info.inFlight == 0)
    }

    @Test("An answer before the delay sends no hedge")
    func fastAnswerNoHedge() async throws {
        let harness = try RuntimeHarness(Self.hedging)
        harness.executor.script(.after(.milliseconds(20), .http(200)))
        let call = harness.start()
        await harness.advance(by: .milliseconds(20), once: 2)
        let result = await call.value
        #expect(result.outcome == .ok)
        #expect(result.attempts == 1)
        #expect(result.hedges == 0)
        #expect(result.decidingAttempt == 1)
        #expect(harness.executor.sent.count == 1)
    }

    @Test("A failure while the hedge is out waits for the hedge, whose answer wins")
    func failureWaitsForTheHedge() async throws {
        let harness = try RuntimeHarness(Self.hedging)
        harness.executor.script(.after(.milliseconds(80), .http(503)), .after(.milliseconds(40), .http(200)))
        let call = harness.start()
        await harness.advance(by: .milliseconds(50), once: 2)
        // Attempt 1 fails at 80 ms; the hedge, sent at 50 ms, answers at 90 ms. The clock moves on only
        // once the failure is recorded, so that the two ends are told in their order.
        await harness.advance(by: .milliseconds(30), once: 2)
        #expect(try await eventually { harness.runtime.info().counters.attempts == 1 })
        await harness.advance(by: .milliseconds(10), once: 1)
        let result = await call.value
        #expect(result.outcome == .ok)
        #expect(result.attempts == 2)
        #expect(result.decidingAttempt == 2)
        #expect(result.elapsed == .milliseconds(90))
        #expect(harness.runtime.info().counters.attempts == 2)
    }

    @Test("A POST is never hedged; with an idempotency key it is", arguments: [false, true])
    func nonIdempotentIsNeverHedged(withKey: Bool) async throws {
        let harness = try RuntimeHarness(Self.hedging)
        harness.executor.script(.stall, .http(200))
        let options = GuardedCallOptions(idempotencyKey: withKey ? "order-17" : "")
        let call = harness.start("POST", "/orders", options)
        if withKey {
            await harness.advance(by: .milliseconds(50), once: 2)
            let result = await call.value
            #expect(result.outcome == .ok)
            #expect(result.hedges == 1)
        } else {
            // Only the attempt sleeps: there is no hedge timer.
            await harness.advance(by: .seconds(1), once: 1)
            let result = await call.value
            #expect(result.outcome == .timeout)
            #expect(result.attempts == 1)
            #expect(result.hedges == 0)
            #expect(harness.executor.sent.count == 1)
        }
    }

    @Test("Hedges are charged to the retry budget: with room for one, the second call's hedge is not sent")
    func budgetStopsHedges() async throws {
        // ratio 0 deposits nothing; min_per_second 1 over a 1 s ttl leaves exactly one retry or hedge.
        // Every attempt ends well before that one withdrawal expires, however late the shell is.
        let harness = try RuntimeHarness(
            """
            timeouts: { connect: 500ms, attempt: 500ms, total: 2s }
            retry: { max_attempts: 1, budget: { ratio: 0, min_per_second: 1, ttl: 1s } }
            hedge: { delay: 50ms, max: 1 }
            """
        )
        harness.executor.script(.stall, .http(200), .stall)
        #expect(harness.runtime.info().budgetBalance == 1)
        let first = harness.start()
        await harness.advance(by: .milliseconds(50), once: 2)
        #expect(await first.value.hedges == 1)
        #expect(harness.runtime.info().budgetBalance == 0)

        let second = harness.start()
        await harness.advance(by: .milliseconds(50), once: 2)
        // The hedge was due and refused: only the stalled attempt still sleeps.
        await harness.advance(by: .milliseconds(450), once: 1)
        let result = await second.value
        #expect(result.outcome == .timeout)
        #expect(result.attempts == 1)
        #expect(result.hedges == 0)
        #expect(harness.executor.sent.count == 3)
    }

    @Test("delay: p95 hedges only once the window has calls, at their p95")
    func p95FollowsRecentLatency() async throws {
        let harness = try RuntimeHarness(
            """
            timeouts: { connect: 1s, attempt: 1s, total: 2s }
            retry: { max_attempts: 1 }
            hedge: { delay: p95 }
            """
        )
        for _ in 0..<20 {
            harness.executor.script(.after(.milliseconds(10), .http(200)))
            let call = harness.start()
            // No estimate yet: the attempt sleeps alone.
            await harness.advance(by: .milliseconds(10), once: 1)
            #expect(await call.value.hedges == 0)
        }
        // The refresh of the estimate is due 100 ms after the last reading.
        harness.clock.advance(by: .milliseconds(100))
        harness.executor.script(.stall, .http(200, body: "hedge"))
        let call = harness.start()
        await harness.advance(by: .milliseconds(10), once: 2)
        let result = await call.value
        #expect(result.text == "hedge")
        #expect(result.hedges == 1)
        #expect(result.elapsed == .milliseconds(10))
    }
}
