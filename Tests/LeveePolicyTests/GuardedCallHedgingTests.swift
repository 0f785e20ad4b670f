import LeveePolicy
import LeveeTestKit
import Testing

/// Hedging in the `GuardedCall` machine, event by event on a manual clock.
@Suite struct GuardedCallHedgingTests {
    struct Setup {
        var clock = ManualClock()
        var rng = SeededRandom(seed: 3)
        var upstream: UpstreamPolicyState
        let policy: GuardedCall.Policy

        init(
            hedge: HedgeConfiguration = HedgeConfiguration(delay: .fixed(.milliseconds(50)), max: 1),
            budget: RetryBudgetConfiguration = .defaults,
            endpoints: Int = 3
        ) throws {
            let retry = RetryPolicy(configuration: RetryConfiguration(maxAttempts: 1, budget: budget))
            policy = GuardedCall.Policy(
                timeouts: TimeoutConfiguration(connect: .seconds(1), attempt: .seconds(1), total: .seconds(2)),
                retry: retry,
                hedge: hedge
            )
            upstream = try UpstreamPolicyState(
                breaker: .defaults,
                bulkhead: .defaults,
                retry: retry,
                outlierDetection: .defaults,
                loadBalancing: .defaults,
                endpointCount: endpoints
            )
        }

        mutating func start(idempotent: Bool = true) throws -> (GuardedCall, GuardedCall.Step) {
            var call = GuardedCall(policy: policy, request: .init(isIdempotent: idempotent), now: clock.now)
            let step = try call.start(now: clock.now, upstream: &upstream, using: &rng)
            return (call, step)
        }
    }

    static func attempt(_ step: GuardedCall.Step) -> GuardedCall.Attempt? {
        if case .attempt(let attempt) = step.action { return attempt }
        return nil
    }

    @Test func theHedgeGoesToAnotherEndpointChargedToTheBudgetAndTheWinnerFreesTheRest() throws {
        var setup = try Setup(budget: RetryBudgetConfiguration(ratio: 0, minPerSecond: 1, ttl: .seconds(1)))
        let before = setup.upstream.budget.balance(now: setup.clock.now)
        var (call, step) = try setup.start()
        let first = try #require(Self.attempt(step))
        #expect(first.hedgeAt == setup.clock.now + .milliseconds(50))
        setup.clock.advance(by: .milliseconds(50))
        step = try call.hedgeDue(now: setup.clock.now, upstream: &setup.upstream, using: &setup.rng)
        let hedge = try #require(Self.attempt(step))
        #expect(hedge.isHedge)
        #expect(hedge.number == 2)
        #expect(hedge.endpoint != first.endpoint)
        #expect(hedge.hedgeAt == nil)  // max: 1
        #expect(step.effects.hedges.sent == 1)
        #expect(setup.upstream.budget.balance(now: setup.clock.now) == before - 1)
        #expect(setup.upstream.bulkhead.inFlight == 1)  // one slot for the call, hedges included

        setup.clock.advance(by: .milliseconds(5))
        step = try call.attemptFinished(
            .answered(.http(200), pushback: nil),
            attempt: 2,
            now: setup.clock.now,
            upstream: &setup.upstream,
            using: &setup.rng
        )
        guard case .finish(let finish) = step.action else {
            Issue.record("expected the call to finish, got \(step.action)")
            return
        }
        #expect(finish.outcome == .ok)
        #expect(finish.attempts == 2)
        #expect(finish.hedges == 1)
        #expect(finish.decidingAttempt == 2)
        #expect(step.effects.hedges.won == 1)
        #expect(setup.upstream.bulkhead.inFlight == 0)
        for endpoint in 0..<3 { #expect(setup.upstream.balancer.inFlight(endpoint) == 0) }
        // The first attempt is abandoned: reporting it now is the shell's mistake.
        #expect(throws: GuardedCallError.self) {
            try call.attemptFinished(
                .failed(.cancelledByCaller),
                attempt: 1,
                now: setup.clock.now,
                upstream: &setup.upstream,
                using: &setup.rng
            )
        }

        // The budget had room for one: the next call's hedge is refused.
        var (second, secondStep) = try setup.start()
        #expect(Self.attempt(secondStep)?.hedgeAt != nil)
        setup.clock.advance(by: .milliseconds(50))
        secondStep = try second.hedgeDue(now: setup.clock.now, upstream: &setup.upstream, using: &setup.rng)
        guard case .awaitAttempts(nil) = secondStep.action else {
            Issue.record("expected no hedge, got \(secondStep.action)")
            return
        }
        #expect(secondStep.effects.hedges.skipped == .budgetExhausted)
    }

    @Test func aFailureWhileTheHedgeIsOutWaitsForItAndStopsOnDoNotRetry() throws {
        var setup = try Setup(hedge: HedgeConfiguration(delay: .fixed(.milliseconds(10)), max: 2))
        var (call, step) = try setup.start()
        setup.clock.advance(by: .milliseconds(10))
        step = try call.hedgeDue(now: setup.clock.now, upstream: &setup.upstream, using: &setup.rng)
        let hedge = try #require(Self.attempt(step))
        #expect(hedge.hedgeAt == setup.clock.now + .milliseconds(10))  // a second hedge may follow
        step = try call.attemptFinished(
            .answered(.http(503), pushback: .doNotRetry),
            attempt: 1,
            now: setup.clock.now,
            upstream: &setup.upstream,
            using: &setup.rng
        )
        guard case .awaitAttempts(nil) = step.action else {
            Issue.record("expected to wait for the hedge without a further one, got \(step.action)")
            return
        }
        #expect(throws: GuardedCallError.self) {
            try call.hedgeDue(now: setup.clock.now, upstream: &setup.upstream, using: &setup.rng)
        }
        step = try call.attemptFinished(
            .answered(.http(503), pushback: nil),
            attempt: 2,
            now: setup.clock.now,
            upstream: &setup.upstream,
            using: &setup.rng
        )
        guard case .finish(let finish) = step.action else {
            Issue.record("expected the call to finish, got \(step.action)")
            return
        }
        #expect(finish.outcome == .upstreamFailure)
        #expect(finish.decidingAttempt == 2)
        #expect(step.effects.hedges.failed == 1)
    }

    @Test func noHedgeForANonIdempotentRequest() throws {
        var setup = try Setup()
        let (_, step) = try setup.start(idempotent: false)
        #expect(Self.attempt(step)?.hedgeAt == nil)
    }

    @Test func noHedgeWhileTheBreakerIsNotClosed() throws {
        var setup = try Setup()
        var (call, _) = try setup.start()
        setup.clock.advance(by: .milliseconds(50))
        _ = setup.upstream.overrideBreaker(.open, now: setup.clock.now)
        let step = try call.hedgeDue(now: setup.clock.now, upstream: &setup.upstream, using: &setup.rng)
        #expect(step.effects.hedges.skipped == .breakerNotClosed)
    }

    @Test func noHedgeWithoutAnotherEndpoint() throws {
        var setup = try Setup(endpoints: 1)
        var (call, _) = try setup.start()
        setup.clock.advance(by: .milliseconds(50))
        let step = try call.hedgeDue(now: setup.clock.now, upstream: &setup.upstream, using: &setup.rng)
        #expect(step.effects.hedges.skipped == .noOtherEndpoint)
    }

    @Test func p95WithoutAnEstimateDoesNotHedge() throws {
        var setup = try Setup(hedge: HedgeConfiguration(delay: .p95, max: 1))
        var call = GuardedCall(policy: setup.policy, request: .init(isIdempotent: true), now: setup.clock.now)
        var step = try call.start(now: setup.clock.now, upstream: &setup.upstream, using: &setup.rng)
        #expect(Self.attempt(step)?.hedgeAt == nil)
        var estimated = GuardedCall(policy: setup.policy, request: .init(isIdempotent: true), now: setup.clock.now)
        step = try estimated.start(
            now: setup.clock.now,
            upstream: &setup.upstream,
            recentP95: .milliseconds(7),
            using: &setup.rng
        )
        #expect(Self.attempt(step)?.hedgeAt == setup.clock.now + .milliseconds(7))
    }
}
