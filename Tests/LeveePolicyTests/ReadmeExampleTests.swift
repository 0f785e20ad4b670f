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
