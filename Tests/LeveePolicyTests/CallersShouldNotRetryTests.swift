import LeveePolicy
import LeveeTestKit
import Testing

/// `GuardedCall.Finish.callersShouldNotRetry`: a failure is marked for the callers above when this call
/// retried it as far as its policy allows, the budget refused the retry, or the upstream said not to
/// retry; not when this call made the one attempt it was allowed, nor when it succeeded.
@Suite struct CallersShouldNotRetryTests {
    /// Runs a call against an upstream whose every attempt ends with `report`, on a manual clock, and
    /// returns how it finished.
    static func finish(
        maxAttempts: Int,
        budget: RetryBudgetConfiguration = .defaults,
        report: AttemptReport
    ) throws -> GuardedCall.Finish {
        var clock = ManualClock()
        var rng = SeededRandom(seed: 7)
        let retry = RetryPolicy(configuration: RetryConfiguration(maxAttempts: maxAttempts, budget: budget))
        let policy = GuardedCall.Policy(
            timeouts: TimeoutConfiguration(connect: .seconds(1), attempt: .seconds(1), total: .seconds(10)),
            retry: retry
        )
        var upstream = try UpstreamPolicyState(
            breaker: .defaults,
            bulkhead: .defaults,
            retry: retry,
            outlierDetection: .defaults,
            loadBalancing: .defaults,
            endpointCount: 1
        )
        var call = GuardedCall(policy: policy, request: .init(isIdempotent: true), now: clock.now)
        var step = try call.start(now: clock.now, upstream: &upstream, using: &rng)
        for _ in 0..<10 {
            switch step.action {
            case .attempt(let attempt):
                clock.advance(by: .milliseconds(1))
                step = try call.attemptFinished(
                    report,
                    attempt: attempt.number,
                    now: clock.now,
                    upstream: &upstream,
                    using: &rng
                )
            case .wait(let until):
                clock.advance(to: until)
                step = try call.waitElapsed(now: clock.now, upstream: &upstream, using: &rng)
            case .finish(let finish):
                return finish
            default:
                Issue.record("unexpected step \(step.action)")
                throw CancellationError()
            }
        }
        Issue.record("the call did not finish")
        throw CancellationError()
    }

    @Test func aFailureRetriedToMaxAttemptsIsMarked() throws {
        let finish = try Self.finish(maxAttempts: 3, report: .answered(.http(503), pushback: nil))
        #expect(finish.attempts == 3)
        #expect(finish.callersShouldNotRetry)
    }

    @Test func aFailureWithItsOneAllowedAttemptIsNotMarked() throws {
        let finish = try Self.finish(maxAttempts: 1, report: .answered(.http(503), pushback: nil))
        #expect(finish.attempts == 1)
        #expect(!finish.callersShouldNotRetry)
    }

    @Test func aRetryTheBudgetRefusedIsMarked() throws {
        let empty = RetryBudgetConfiguration(ratio: 0, minPerSecond: 0, ttl: .seconds(1))
        let finish = try Self.finish(maxAttempts: 3, budget: empty, report: .answered(.http(503), pushback: nil))
        #expect(finish.attempts == 1)
        #expect(finish.callersShouldNotRetry)
    }

    @Test func theUpstreamsDoNotRetryIsPassedOn() throws {
        let finish = try Self.finish(maxAttempts: 3, report: .answered(.http(500), pushback: .doNotRetry))
        #expect(finish.attempts == 1)
        #expect(finish.callersShouldNotRetry)
    }

    @Test func aSuccessIsNeverMarked() throws {
        let finish = try Self.finish(maxAttempts: 3, report: .answered(.http(200), pushback: nil))
        #expect(finish.outcome == .ok)
        #expect(!finish.callersShouldNotRetry)
    }
}
