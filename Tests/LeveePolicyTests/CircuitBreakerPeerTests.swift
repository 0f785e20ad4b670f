import LeveePolicy
import LeveeTestKit
import Testing

/// `openOnPeerReports`: peers' reports open a CLOSED breaker as an ordinary OPEN; the local probe decides.
struct CircuitBreakerPeerTests {
    @Test func peerReportsOpenAClosedBreakerForOpenFor() throws {
        var breaker = try makeBreaker()
        var clock = ManualClock()
        let opened = breaker.openOnPeerReports(2, now: clock.now)
        let transition = try #require(opened)
        #expect(transition.from == .closed && transition.to == .open)
        #expect(transition.cause == .peersReportedOpen(2))
        #expect(breaker.tryAcquire(now: clock.now).rejection == .open(retryAfter: .seconds(30) + .nanoseconds(1)))

        // After open_for the local probe decides: it passes, the breaker closes.
        clock.advance(by: .seconds(30) + .nanoseconds(1))
        breaker.call(.success, now: clock.now)
        #expect(breaker.state == .closed)
    }

    @Test func aFailedLocalProbeKeepsItOpenLonger() throws {
        var breaker = try makeBreaker()
        var clock = ManualClock()
        _ = breaker.openOnPeerReports(1, now: clock.now)
        clock.advance(by: .seconds(30) + .nanoseconds(1))
        breaker.call(.failure(.timeout), now: clock.now)
        #expect(breaker.state == .open)
        #expect(breaker.retryAfter(now: clock.now) == .seconds(60) + .nanoseconds(1))
    }

    @Test(arguments: [CircuitBreaker.Override.open, .closed])
    func anOverrideWins(_ override: CircuitBreaker.Override) throws {
        var breaker = try makeBreaker()
        let clock = ManualClock()
        _ = breaker.force(override, now: clock.now)
        #expect(breaker.openOnPeerReports(5, now: clock.now) == nil)
        #expect(breaker.state == (override == .open ? .forcedOpen : .forcedClosed))
    }

    @Test func anOpenOrProbingBreakerIsLeftAlone() throws {
        var breaker = try makeBreaker()
        var clock = ManualClock()
        breaker.trip(now: clock.now)
        #expect(breaker.openOnPeerReports(3, now: clock.now) == nil)
        clock.advance(by: .seconds(30) + .nanoseconds(1))
        _ = breaker.tryAcquire(now: clock.now)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.openOnPeerReports(3, now: clock.now) == nil)
        #expect(breaker.state == .halfOpen)
    }
}
