import LeveePolicy
import LeveeTestKit
import Testing

/// The README's example, run: if the public API drifts from what the README shows, this stops compiling.
@Suite struct ReadmeExampleTests {
    @Test func breakerExampleTripsOnFailingCalls() throws {
        var clock = ManualClock()
        var breaker = try CircuitBreaker(configuration: .defaults)
        let classifier = OutcomeClassifier(configuration: .defaults)
        var changes: [CircuitBreaker.Transition] = []
        for _ in 0..<20 {
            let now = clock.now
            switch breaker.tryAcquire(now: now) {
            case .admitted(let permit, _):
                clock.advance(by: .milliseconds(3))
                let outcome = classifier.classify(httpStatus: 503)
                if let change = breaker.record(outcome, for: permit, duration: clock.now - now, now: clock.now) {
                    changes.append(change)
                }
            case .rejected:
                Issue.record("a closed breaker rejected a call")
            }
        }
        #expect(changes.count == 1)
        #expect(changes.first?.to == .open)
        #expect(changes.first.map { "\($0)" }?.hasPrefix("CLOSED → OPEN: failure rate 100%") == true)
        let rejection = breaker.tryAcquire(now: clock.now).rejection
        #expect(rejection?.retryAfter.map { $0 > .zero } == true)
    }
}

/// The README's `GuardedCall` shell, run on a manual clock with a 503 then a 200.
@Suite struct ReadmeGuardedCallExampleTests {
    @Test func theShellLoopRetriesAndFinishes() async throws {
        var clock = ManualClock()
        var rng = SeededRandom(seed: 1)
        var answers: [AttemptReport] = [.answered(.http(503), pushback: nil), .answered(.http(200), pushback: nil)]
        func send(_ attempt: GuardedCall.Attempt) async -> AttemptReport {
            clock.advance(by: .milliseconds(2))
            return answers.removeFirst()
        }
        func sleep(until instant: Instant) async { clock.advance(to: instant) }

        let policy = GuardedCall.Policy(timeouts: .defaults, retry: RetryPolicy(), fallbackOn: [.timeout])
        var upstream = try UpstreamPolicyState(
            breaker: .defaults,
            bulkhead: .defaults,
            retry: policy.retry,
            outlierDetection: .defaults,
            loadBalancing: .defaults,
            endpointCount: 2
        )
        var call = GuardedCall(policy: policy, request: .init(isIdempotent: true), now: clock.now)
        var step = try call.start(now: clock.now, upstream: &upstream, using: &rng)
        var finished: GuardedCall.Finish?
        loop: while true {
            switch step.action {
            case .attempt(let attempt):
                let report = await send(attempt)
                step = try call.attemptFinished(report, now: clock.now, upstream: &upstream, using: &rng)
            case .wait(let until):
                await sleep(until: until)
                step = try call.waitElapsed(now: clock.now, upstream: &upstream, using: &rng)
            case .waitForSlot:
                step = try call.slotDenied(now: clock.now, upstream: &upstream)
            case .awaitAttempts:
                Issue.record("a call without hedging has one attempt out at most")
                break loop
            case .finish(let finish):
                finished = finish
                break loop
            }
        }
        #expect(finished?.outcome == .ok)
        #expect(finished?.attempts == 2)
        #expect(finished?.fallback == false)
        #expect(upstream.bulkhead.inFlight == 0)
    }
}
