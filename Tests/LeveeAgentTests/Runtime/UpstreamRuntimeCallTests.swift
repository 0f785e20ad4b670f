import LeveeAgent
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Testing

/// `UpstreamRuntime.call` on the manual clock with a scripted executor: retries, backoff, deadlines,
/// the breaker, the bulkhead, outlier ejection and fallbacks, without a socket or a sleep.
@Suite struct UpstreamRuntimeCallTests {
    @Test("A call that needs one attempt takes the runtime's lock at most three times")
    func singleAttemptLockBudget() async throws {
        let harness = try RuntimeHarness()
        _ = await harness.call()  // warm: nothing lazily made on the first call is counted below
        let before = harness.runtime.lockAcquisitions
        let result = await harness.call()
        #expect(result.outcome == .ok)
        #expect(result.attempts == 1)
        #expect(harness.runtime.lockAcquisitions - before <= 3)
    }

    @Test("A 503 is retried on the other endpoint after a backoff on the clock, then answered")
    func retryAfterBackoffOnOtherEndpoint() async throws {
        let harness = try RuntimeHarness(
            """
            retry: { max_attempts: 3, backoff: { base: 100ms, max: 100ms, jitter: none } }
            load_balancing: { policy: round_robin }
            """
        )
        harness.executor.script(.http(503, body: "busy"), .http(200, body: "fine"))
        let call = harness.start()
        await harness.advance(by: .milliseconds(100))
        let result = await call.value
        #expect(result.outcome == .ok)
        #expect(result.attempts == 2)
        #expect(result.text == "fine")
        let sent = harness.executor.sent
        #expect(sent.count == 2)
        #expect(sent[0].endpoint != sent[1].endpoint)
        // The retry propagates what is left of the 5 s total after the 100 ms backoff.
        #expect(sent[0].remaining == .seconds(5))
        #expect(sent[1].remaining == .milliseconds(4_900))
        let info = harness.runtime.info()
        #expect(info.counters.attempts == 2)
        #expect(info.counters.retries == 1)
        #expect(info.counters.ok == 1)
    }

    @Test("A POST that reached the upstream is not sent again; a connect failure is")
    func nonIdempotentRequests() async throws {
        let harness = try RuntimeHarness("retry: { max_attempts: 3, backoff: { base: 1ms, max: 1ms, jitter: none } }")
        harness.executor.script(.http(503))
        let post = await harness.call("POST", "/orders")
        #expect(post.outcome == .upstreamFailure)
        #expect(post.attempts == 1)
        #expect(post.detail.contains("not idempotent"))

        harness.executor.script(.fail(.connectFailure), .http(201))
        let call = harness.start("POST", "/orders")
        await harness.advance(by: .milliseconds(1))
        let refused = await call.value
        #expect(refused.outcome == .ok)
        #expect(refused.attempts == 2)
    }

    @Test("An attempt that stalls runs into its timeout on the clock; the deadline bounds the retries")
    func stalledAttemptsAndTheDeadline() async throws {
        let harness = try RuntimeHarness(
            """
            timeouts: { connect: 100ms, attempt: 300ms, total: 500ms }
            retry: { max_attempts: 5, backoff: { base: 1ms, max: 1ms, jitter: none } }
            """
        )
        harness.executor.script(.stall, .stall, .stall)
        let call = harness.start()
        await harness.advance(by: .milliseconds(300))
        await harness.advance(by: .milliseconds(1))
        await harness.advance(by: .milliseconds(199))
        let result = await call.value
        #expect(result.outcome == .timeout)
        #expect(result.attempts == 2)
        let sent = harness.executor.sent
        #expect(sent.map(\.timeout) == [.milliseconds(300), .milliseconds(199)])
        #expect(result.elapsed == .milliseconds(500))
    }

    @Test("An app timeout shorter than the upstream's total is the call's deadline")
    func appTimeoutIsTheDeadline() async throws {
        let harness = try RuntimeHarness()
        harness.executor.script(.stall)
        let call = harness.start("GET", "/", GuardedCallOptions(timeout: .milliseconds(150)))
        await harness.advance(by: .milliseconds(150))
        let result = await call.value
        #expect(result.outcome == .timeout)
        #expect(harness.executor.sent.first?.timeout == .milliseconds(150))
    }

    @Test("An expired deadline sends nothing")
    func expiredDeadlineSendsNothing() async throws {
        let harness = try RuntimeHarness()
        let spent = GuardedCallOptions(rpcDeadline: Deadline(harness.clock.now()))
        let result = await harness.call("GET", "/", spent)
        #expect(result.outcome == .timeout)
        #expect(result.attempts == 0)
        #expect(harness.executor.sent.isEmpty)
    }

    @Test("Failures open the breaker; it rejects with retry_after, then lets one probe through on the clock")
    func breakerOpensAndProbes() async throws {
        let harness = try RuntimeHarness(
            """
            retry: { max_attempts: 1 }
            breaker: { window: { kind: count, size: 4 }, min_calls: 4, failure_rate: 50, open_for: 1s }
            """
        )
        harness.executor.script(.http(500), .http(500), .http(500), .http(500))
        for _ in 0..<4 { _ = await harness.call() }
        #expect(harness.runtime.breakerState == .open)
        #expect(harness.runtime.breakerSource == .local)

        let rejected = await harness.call()
        #expect(rejected.outcome == .circuitOpen)
        #expect(rejected.retryAfter.map { $0 > .zero && $0 <= .milliseconds(1_001) } == true)
        #expect(rejected.attempts == 0)

        harness.clock.advance(by: .milliseconds(1_001))
        let probe = await harness.call()
        #expect(probe.outcome == .ok)
        #expect(harness.runtime.breakerState == .closed)
    }

    @Test("A full bulkhead queues a call until a slot frees, or until the queue timeout")
    func bulkheadQueue() async throws {
        let harness = try RuntimeHarness(
            """
            bulkhead: { max_concurrent: 1, max_queue: 1, queue_timeout: 50ms, reserved_critical: 0 }
            timeouts: { connect: 1s, attempt: 1s, total: 2s }
            retry: { max_attempts: 1 }
            """
        )
        harness.executor.script(.after(.milliseconds(30), .http(200, body: "first")))
        let first = harness.start()
        await harness.clock.waitForSleepers(1)
        let second = harness.start()
        // The second call waits in the queue (its queue deadline is a second sleeper).
        await harness.clock.waitForSleepers(2)
        harness.clock.advance(by: .milliseconds(30))
        #expect(await first.value.text == "first")
        #expect(await second.value.outcome == .ok)

        harness.executor.script(.stall)
        let blocking = harness.start()
        await harness.clock.waitForSleepers(1)
        let queued = harness.start()
        await harness.clock.waitForSleepers(2)
        harness.clock.advance(by: .milliseconds(50))
        let refused = await queued.value
        #expect(refused.outcome == .bulkheadFull)
        #expect(refused.detail == "no slot freed within 50ms in the queue")
        harness.clock.advance(by: .seconds(1))
        #expect(await blocking.value.outcome == .timeout)
        #expect(harness.runtime.info().inFlight == 0)
    }

    @Test("An endpoint that keeps failing is ejected; calls go to the other; it is restored on the clock")
    func outlierEjection() async throws {
        let harness = try RuntimeHarness(
            """
            retry: { max_attempts: 1 }
            load_balancing: { policy: round_robin }
            outlier_detection: { consecutive_failures: 2, base_ejection_time: 10s }
            breaker: { failure_rate: 100 }
            """
        )
        let sick = EndpointAddress(host: "10.0.0.1", port: 80)
        harness.executor.script(.fail(.reset), .fail(.reset), on: sick)
        for _ in 0..<4 { _ = await harness.call() }
        let info = harness.runtime.info()
        #expect(info.endpoints[0].ejectedFor == .seconds(10))
        #expect(!info.endpoints[0].inRotation)

        let before = harness.executor.sent.count
        for _ in 0..<3 { #expect(await harness.call().outcome == .ok) }
        #expect(harness.executor.sent[before...].allSatisfy { $0.endpoint != sick })

        harness.clock.advance(by: .seconds(10))
        harness.runtime.housekeeping()
        #expect(harness.runtime.info().endpoints[0].inRotation)
    }

    @Test("A failed call is answered from the stale cache, else with the static fallback")
    func fallbacks() async throws {
        let harness = try RuntimeHarness(
            """
            retry: { max_attempts: 1 }
            fallback:
              stale: { max_age: 30s }
              static: { status: 200, body: 'static' }
            """
        )
        harness.executor.script(.http(200, body: "fresh"), .http(503))
        #expect(await harness.call("GET", "/items").text == "fresh")
        harness.clock.advance(by: .seconds(5))
        let stale = await harness.call("GET", "/items")
        #expect(stale.outcome == .upstreamFailure)
        #expect(stale.fallback == .stale)
        #expect(stale.text == "fresh")
        #expect(stale.detail.hasSuffix("; served the stale answer from 5s ago"))

        harness.executor.script(.http(503))
        let fixed = await harness.call("GET", "/other")
        #expect(fixed.fallback == .static)
        #expect(fixed.text == "static")
        let counters = harness.runtime.info().counters
        #expect(counters.fallbacksStale == 1)
        #expect(counters.fallbacksStatic == 1)
    }

    @Test("The retry budget stops retries once spent, and counts the refusals")
    func retryBudget() async throws {
        let harness = try RuntimeHarness(
            """
            retry:
              max_attempts: 2
              budget: { ratio: 0, min_per_second: 1, ttl: 2s }
            """
        )
        // The upstream asks for an immediate retry (Retry-After: 0), so no backoff needs the clock.
        let again = ScriptedExecutor.Step.http(503, pushback: .retry(after: .zero))
        harness.executor.script(again, again, again, again, again)
        #expect(await harness.call().attempts == 2)
        #expect(await harness.call().attempts == 2)
        let denied = await harness.call()
        #expect(denied.attempts == 1)
        #expect(denied.detail.contains("the retry budget is exhausted"))
        #expect(harness.runtime.info().counters.retriesDeniedByBudget == 1)
    }

    @Test("A caller that goes away during the backoff ends the call with its last result")
    func cancelledDuringBackoff() async throws {
        let harness = try RuntimeHarness("retry: { max_attempts: 3, backoff: { base: 1s, max: 1s, jitter: none } }")
        harness.executor.script(.http(503))
        let call = harness.start()
        await harness.clock.waitForSleepers(1)
        call.cancel()
        let result = await call.value
        #expect(result.outcome == .upstreamFailure)
        #expect(result.detail.hasSuffix("; cancelled during backoff"))
        #expect(harness.runtime.info().inFlight == 0)
    }
}
