import LeveePolicy
import LeveeTestKit
import Testing

/// The bulkhead under a moving limit (`bulkhead.adaptive`), and the samples that move it, from the
/// attempts `GuardedCall` records.
@Suite struct BulkheadAdaptiveLimitTests {
    private static func ticket(_ admission: Bulkhead.Admission) -> Bulkhead.Ticket? {
        if case .queued(let ticket) = admission { return ticket }
        return nil
    }

    @Test func aLowerLimitTakesNoSlotAwayAndNewCallsQueue() throws {
        let now = ManualClock().now
        var bulkhead = try Bulkhead(
            configuration: BulkheadConfiguration(
                maxConcurrent: 4,
                maxQueue: 4,
                reservedCritical: 0,
                adaptive: AdaptiveLimitConfiguration(min: 1, max: 8)
            )
        )
        let deadline = now + .seconds(1)
        for _ in 0..<4 {
            #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .admitted)
        }
        bulkhead.setLimit(2)
        #expect(bulkhead.inFlight == 4)
        #expect(bulkhead.availableSlots(for: .critical) == 0)
        let waiting = Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now))
        #expect(waiting != nil)
        // Two calls finish: still at the limit, nobody is let in.
        #expect(try bulkhead.release(priority: .normal, now: now) == nil)
        #expect(try bulkhead.release(priority: .normal, now: now) == nil)
        // The third brings in-flight below the limit: the waiting call gets the slot.
        #expect(try bulkhead.release(priority: .normal, now: now) == waiting)
        #expect(bulkhead.inFlight == 2)
    }

    @Test func aHigherLimitLetsWaitingCallsIn() throws {
        let now = ManualClock().now
        var bulkhead = try Bulkhead(
            configuration: BulkheadConfiguration(
                maxConcurrent: 2,
                maxQueue: 4,
                reservedCritical: 0,
                adaptive: AdaptiveLimitConfiguration(min: 1, max: 8)
            )
        )
        let deadline = now + .seconds(1)
        for _ in 0..<2 { _ = bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) }
        let first = Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now))
        let second = Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now))
        let third = Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now))
        bulkhead.setLimit(4)
        #expect(bulkhead.admitWaiting(now: now) == first)
        #expect(bulkhead.admitWaiting(now: now) == second)
        #expect(bulkhead.admitWaiting(now: now) == nil)
        #expect(bulkhead.isQueued(third!))
        #expect(bulkhead.inFlight == 4)
    }

    @Test(arguments: [(64, 8), (32, 4), (4, 0), (128, 16)])
    func reservedCriticalKeepsItsShareOfTheLimit(limit: Int, reserved: Int) throws {
        var bulkhead = try Bulkhead(
            configuration: BulkheadConfiguration(
                maxConcurrent: 64,
                reservedCritical: 8,
                adaptive: AdaptiveLimitConfiguration(min: 4, max: 512)
            )
        )
        bulkhead.setLimit(limit)
        #expect(bulkhead.reservedCritical == reserved)
        #expect(bulkhead.availableSlots(for: .normal) == limit - reserved)
        #expect(bulkhead.availableSlots(for: .critical) == limit)
    }

    // MARK: Through GuardedCall

    private static func state(
        _ adaptive: AdaptiveLimitConfiguration,
        maxConcurrent: Int = 2
    ) throws
        -> UpstreamPolicyState
    {
        try UpstreamPolicyState(
            breaker: .defaults,
            bulkhead: BulkheadConfiguration(
                maxConcurrent: maxConcurrent,
                maxQueue: 8,
                queueTimeout: .seconds(1),
                reservedCritical: 0,
                adaptive: adaptive
            ),
            retry: RetryPolicy(configuration: RetryConfiguration(maxAttempts: 1)),
            outlierDetection: .defaults,
            loadBalancing: .defaults,
            endpointCount: 1
        )
    }

    private static func attempt(_ step: GuardedCall.Step) -> GuardedCall.Attempt? {
        if case .attempt(let attempt) = step.action { return attempt }
        return nil
    }

    @Test func attemptsReachTheLimiterAndARiseWakesWaitingCalls() throws {
        var clock = ManualClock()
        var rng = SeededRandom(seed: 7)
        var upstream = try Self.state(AdaptiveLimitConfiguration(algorithm: .aimd, min: 1, max: 8, initial: 2))
        let policy = GuardedCall.Policy()
        let request = GuardedCall.Request(isIdempotent: true)
        var first = GuardedCall(policy: policy, request: request, now: clock.now)
        var second = GuardedCall(policy: policy, request: request, now: clock.now)
        var third = GuardedCall(policy: policy, request: request, now: clock.now)
        #expect(Self.attempt(try first.start(now: clock.now, upstream: &upstream, using: &rng)) != nil)
        #expect(Self.attempt(try second.start(now: clock.now, upstream: &upstream, using: &rng)) != nil)
        guard
            case .waitForSlot(let waiting, _) = try third.start(now: clock.now, upstream: &upstream, using: &rng).action
        else {
            Issue.record("the third call should wait for a slot")
            return
        }
        // The limiter updates once per window of more than ten samples: ten earlier attempts open one,
        // and this call's attempt, past its end, closes it.
        for _ in 0..<10 {
            #expect(upstream.recordLatency(.init(rtt: .milliseconds(10), inFlight: 2), now: clock.now) == nil)
        }
        clock.advance(by: .milliseconds(10))
        // Two in flight of two: AIMD adds one, and the new slot goes to the waiting call at once.
        let finished = try first.attemptFinished(
            .answered(.http(200), pushback: nil),
            now: clock.now,
            upstream: &upstream,
            using: &rng
        )
        #expect(finished.effects.limitChange?.from == 2)
        #expect(finished.effects.limitChange?.to == 3)
        #expect(finished.effects.limitChange?.shortRTT == .milliseconds(10))
        #expect(finished.effects.slotsOpenedTo == [waiting])
        #expect(upstream.bulkhead.limit == 3)
        // A timeout is a drop: ⌊3 · 0.9⌋ = 2, when its window (twice the last one's shortest RTT) ends.
        for _ in 0..<10 {
            #expect(upstream.recordLatency(.init(rtt: .milliseconds(10), inFlight: 2), now: clock.now) == nil)
        }
        clock.advance(by: .milliseconds(20))
        let timedOut = try second.attemptFinished(
            .failed(.timeout),
            now: clock.now,
            upstream: &upstream,
            using: &rng
        )
        #expect(timedOut.effects.limitChange?.to == 2)
        #expect(timedOut.effects.slotsOpenedTo.isEmpty)
        #expect(upstream.adaptiveLimit?.samples == 2)
    }

    @Test func aConnectFailureIsNoSample() throws {
        let clock = ManualClock()
        var rng = SeededRandom(seed: 7)
        var upstream = try Self.state(AdaptiveLimitConfiguration(algorithm: .aimd, min: 1, max: 8, initial: 2))
        var call = GuardedCall(policy: GuardedCall.Policy(), request: .init(isIdempotent: true), now: clock.now)
        _ = try call.start(now: clock.now, upstream: &upstream, using: &rng)
        let step = try call.attemptFinished(.failed(.connectFailure), now: clock.now, upstream: &upstream, using: &rng)
        #expect(step.effects.limitChange == nil)
        #expect(upstream.adaptiveLimit?.samples == 0)
    }
}
