import LeveePolicy
import LeveeTestKit
import PropertyBased
import Testing

@Suite struct UpstreamPolicyStateTests {
    /// The agent used to record who moved the breaker in a second lock acquisition, after the one that
    /// computed the transition, so that two transitions racing could leave the source of the first
    /// beside the state of the second. Every breaker change now goes through `UpstreamPolicyState`,
    /// which records the source with the transition, in the same event.
    @Test func theBreakersSourceIsAlwaysThatOfTheTransitionThatMovedItLast() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0..<6).array(of: 1...80)) { events in
            var clock = ManualClock()
            var upstream = try! UpstreamPolicyState(
                breaker: CircuitBreakerConfiguration(
                    window: .count(size: 4),
                    minCalls: 2,
                    openFor: .milliseconds(50),
                    openForMax: .seconds(1)
                ),
                bulkhead: .defaults,
                retry: RetryPolicy(),
                outlierDetection: .defaults,
                loadBalancing: .defaults,
                endpointCount: 1
            )
            var last: CircuitBreaker.Transition?
            for event in events {
                clock.advance(by: .milliseconds(20))
                let now = clock.now
                var transitions: [CircuitBreaker.Transition?] = []
                switch event {
                case 0, 1:
                    let admission = upstream.tryAcquireBreaker(now: now)
                    transitions.append(admission.transition)
                    if let permit = admission.permit {
                        let outcome: AttemptOutcome = event == 0 ? .failure(.reset) : .success
                        transitions.append(upstream.recordBreaker(outcome, for: permit, duration: .zero, now: now))
                    }
                case 2: transitions.append(upstream.overrideBreaker(.open, now: now))
                case 3: transitions.append(upstream.overrideBreaker(.closed, now: now))
                case 4: transitions.append(upstream.overrideBreaker(nil, now: now))
                default: transitions.append(upstream.openOnPeerReports(2, now: now))
                }
                for case let transition? in transitions { last = transition }
                let expected = last.map { BreakerSource($0.cause) } ?? .local
                #expect(upstream.breakerSource == expected, "after \(String(describing: last))")
                if let last { #expect(upstream.breaker.state == last.to) }
            }
        }
    }
}
