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

    // MARK: Corroboration: this agent's failures in a row and the peers' suspicion

    @Test func theStreakCountsFailuresInARowAndASuccessEndsIt() throws {
        var breaker = try makeBreaker {
            $0.window = .count(size: 100)
            $0.minCalls = 100
        }
        let clock = ManualClock()
        for _ in 0..<20 { breaker.call(.success, now: clock.now) }
        for expected in 1...4 {
            breaker.call(failure, now: clock.now)
            #expect(breaker.failureStreak == expected)
        }
        breaker.call(.success, now: clock.now)
        #expect(breaker.failureStreak == 0)
        // A cancelled attempt says nothing about the upstream: the streak is kept.
        breaker.call(failure, now: clock.now)
        breaker.call(.ignored, now: clock.now)
        #expect(breaker.failureStreak == 1)
    }

    @Test func aStreakWithPeersOpensLongBeforeTheWindowWould() throws {
        // A window of 100 full of successes needs 50 failures to reach 50 %; five in a row and a peer's
        // word open it.
        var breaker = try makeBreaker {
            $0.window = .count(size: 100)
            $0.minCalls = 20
        }
        var clock = ManualClock()
        for _ in 0..<100 { breaker.call(.success, now: clock.now) }
        for _ in 0..<4 { breaker.call(failure, now: clock.now) }
        #expect(breaker.openOnCorroboration(peers: 1, suspectAfter: 5, now: clock.now) == nil)
        breaker.call(failure, now: clock.now)
        #expect(breaker.state == .closed)
        #expect(breaker.openOnCorroboration(peers: 1, suspectAfter: 0, now: clock.now) == nil)
        let opened = breaker.openOnCorroboration(peers: 2, suspectAfter: 5, now: clock.now)
        let transition = try #require(opened)
        #expect(transition.from == .closed && transition.to == .open)
        #expect(transition.cause == .corroborated(streak: 5, peers: 2))
        #expect(BreakerSource(transition.cause) == .peers)
        #expect(breaker.failureStreak == 0)
        #expect(breaker.retryAfter(now: clock.now) == .seconds(30) + .nanoseconds(1))

        // The local probe decides, as after any open.
        clock.advance(by: .seconds(30) + .nanoseconds(1))
        breaker.call(.success, now: clock.now)
        #expect(breaker.state == .closed)
        #expect(breaker.failureStreak == 0)
    }

    @Test func onlyAClosedBreakerOpensOnCorroboration() throws {
        var breaker = try makeBreaker()
        let clock = ManualClock()
        _ = breaker.force(.closed, now: clock.now)
        for _ in 0..<6 { breaker.call(failure, now: clock.now) }
        #expect(breaker.failureStreak == 6)
        #expect(breaker.openOnCorroboration(peers: 3, suspectAfter: 5, now: clock.now) == nil)
        #expect(breaker.state == .forcedClosed)
    }
}
