import LeveePolicy
import LeveeTestKit
import Testing

/// A small breaker that is quick to drive: a count window of 10, `min_calls` 10, 50%, 30 s open.
func makeBreaker(
    _ configure: (inout CircuitBreakerConfiguration) -> Void = { _ in }
) throws -> CircuitBreaker {
    var configuration = CircuitBreakerConfiguration(window: .count(size: 10), minCalls: 10)
    configure(&configuration)
    return try CircuitBreaker(configuration: configuration)
}

extension CircuitBreaker {
    /// Acquires, then records `outcome` at once; records an issue when the acquire is rejected.
    @discardableResult
    mutating func call(
        _ outcome: AttemptOutcome,
        duration: Duration = .milliseconds(10),
        now: Instant,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Transition? {
        guard let permit = tryAcquire(now: now).permit else {
            Issue.record("expected the breaker to admit a call in \(state)", sourceLocation: sourceLocation)
            return nil
        }
        return record(outcome, for: permit, duration: duration, now: now)
    }

    /// Trips a CLOSED breaker with failures and returns the transition.
    @discardableResult
    mutating func trip(now: Instant) -> Transition? {
        var transition: Transition?
        while state == .closed {
            transition = call(.failure(.reset), now: now)
        }
        return transition
    }
}

let failure = AttemptOutcome.failure(.httpStatus(503))

@Suite struct CircuitBreakerTests {
    // MARK: Configuration

    @Test func defaultsAreThoseOfTheDesignExample() {
        let defaults = CircuitBreakerConfiguration.defaults
        #expect(defaults.window == .count(size: 100))
        #expect(defaults.minCalls == 20)
        #expect(defaults.failureRate == 50)
        #expect(defaults.slowCall.duration == .seconds(2))
        #expect(defaults.slowCall.rate == 100)
        #expect(defaults.openFor == .seconds(30))
        #expect(defaults.openForMax == .seconds(300))
        #expect(defaults.halfOpenCalls == 1)
        #expect(throws: Never.self) { try defaults.validate() }
    }

    static let invalidConfigurations: [(CircuitBreakerConfiguration, String, String)] = {
        func with(_ change: (inout CircuitBreakerConfiguration) -> Void) -> CircuitBreakerConfiguration {
            var configuration = CircuitBreakerConfiguration.defaults
            change(&configuration)
            return configuration
        }
        return [
            (with { $0.minCalls = 0 }, "min_calls", "0"),
            (with { $0.minCalls = 101 }, "min_calls", "101"),
            (with { $0.failureRate = 0 }, "failure_rate", "0.0"),
            (with { $0.failureRate = 100.5 }, "failure_rate", "100.5"),
            (with { $0.failureRate = .nan }, "failure_rate", "nan"),
            (with { $0.slowCall.rate = -1 }, "slow_call.rate", "-1.0"),
            (with { $0.slowCall.duration = .zero }, "slow_call.duration", "0s"),
            (with { $0.openFor = .zero }, "open_for", "0s"),
            (with { $0.openForMax = .seconds(10) }, "open_for_max", "10s"),
            (with { $0.halfOpenCalls = 0 }, "half_open_calls", "0"),
            (with { $0.window = .count(size: 0) }, "window.size", "0"),
            (with { $0.window = .count(size: 100_001) }, "window.size", "100001"),
            (with { $0.window = .time(size: .milliseconds(500), bucket: .milliseconds(100)) }, "window.size", "500ms"),
            (with { $0.window = .time(size: .milliseconds(1500)) }, "window.size", "1500ms"),
            (with { $0.window = .time(size: .seconds(10), bucket: .zero) }, "window.bucket", "0s"),
            (with { $0.window = .time(size: .seconds(60), bucket: .milliseconds(1)) }, "window.size", "60s"),
        ]
    }()

    @Test(arguments: invalidConfigurations)
    func validationNamesTheFieldAndTheValue(
        configuration: CircuitBreakerConfiguration,
        keyPath: String,
        value: String
    ) {
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error?.keyPath == keyPath)
        #expect(error?.value == value)
        #expect(throws: ConfigurationError.self) { try CircuitBreaker(configuration: configuration) }
    }

    @Test func aTimeWindowMinCallsMayExceedAnyCount() throws {
        let configuration = CircuitBreakerConfiguration(window: .time(size: .seconds(10)), minCalls: 1_000)
        #expect(throws: Never.self) { try configuration.validate() }
    }

    // MARK: Trip rule

    /// `failures` failures after `calls − failures` successes, with `min_calls` = `calls`.
    @Test(arguments: [
        (5, 10, 50.0, true),  // exactly the threshold trips: inclusive
        (4, 10, 50.0, false),
        (10, 10, 100.0, true),
        (9, 10, 100.0, false),
        (1, 8, 12.5, true),
        (1, 8, 12.5001, false),
        (1, 3, 33.3333, true),  // 33.333…% ≥ 33.3333%
        (1, 3, 33.3334, false),  // exact integer comparison, no rounding to 33.33
        (1, 10, 10.0, true),
    ])
    func failureRateThresholdIsInclusiveAndExact(failures: Int, calls: Int, rate: Double, trips: Bool) throws {
        var clock = ManualClock()
        var breaker = try makeBreaker {
            $0.minCalls = calls
            $0.failureRate = rate
        }
        for index in 0..<calls {
            let outcome = index < calls - failures ? AttemptOutcome.success : failure
            let transition = breaker.call(outcome, now: clock.now)
            if index < calls - 1 { #expect(transition == nil) }
            clock.advance(by: .milliseconds(1))
        }
        #expect(breaker.state == (trips ? .open : .closed))
    }

    @Test func doesNotTripBelowMinCalls() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker { $0.minCalls = 5 }
        for _ in 0..<4 {
            #expect(breaker.call(failure, now: clock.now) == nil)
        }
        #expect(breaker.state == .closed)
        #expect(breaker.snapshot(now: clock.now).failureRate == 100)
        let tripping = breaker.call(failure, now: clock.now)
        let transition = try #require(tripping)
        #expect(transition.from == .closed)
        #expect(transition.to == .open)
        #expect(transition.at == clock.now)
        #expect(transition.cause == .failureRate(.init(count: 5, calls: 5, threshold: 50)))
    }

    @Test func slowCallsTripAloneWhileFailuresAreUnderTheThreshold() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker { $0.slowCall = .init(duration: .seconds(1), rate: 50) }
        for index in 0..<10 {
            // Four failures (40%, under 50), five slow successes (50%, at the slow threshold).
            let outcome = index < 4 ? failure : .success
            let duration: Duration = index >= 5 ? .seconds(1) + .nanoseconds(1) : .seconds(1)
            breaker.call(outcome, duration: duration, now: clock.now)
        }
        #expect(breaker.state == .open)
        let snapshot = breaker.snapshot(now: clock.now)
        #expect(snapshot.failures == 4)
        #expect(snapshot.slowCalls == 5)
        #expect(snapshot.slowCallRate == 50)
    }

    @Test func aCallOfExactlyTheSlowDurationIsNotSlow() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker { $0.slowCall = .init(duration: .seconds(2), rate: 100) }
        for _ in 0..<10 {
            breaker.call(.success, duration: .seconds(2), now: clock.now)
        }
        #expect(breaker.state == .closed)
        #expect(breaker.snapshot(now: clock.now).slowCalls == 0)
        let transition = breaker.call(.success, duration: .seconds(2) + .nanoseconds(1), now: clock.now)
        #expect(transition == nil, "one slow call of ten is 10%")
    }

    @Test func theFailureRateIsNamedWhenBothRatesAreReached() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker { $0.slowCall = .init(duration: .seconds(1), rate: 50) }
        var transition: CircuitBreaker.Transition?
        for _ in 0..<10 {
            transition = breaker.call(failure, duration: .seconds(5), now: clock.now)
        }
        #expect(transition?.cause == .failureRate(.init(count: 10, calls: 10, threshold: 50)))
    }

    @Test func ignoredOutcomesAreNotRecorded() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker()
        for _ in 0..<20 {
            breaker.call(.ignored, now: clock.now)
        }
        #expect(breaker.snapshot(now: clock.now).calls == 0)
        #expect(breaker.state == .closed)
    }

    @Test func theTransitionSaysWhy() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker()
        var transition: CircuitBreaker.Transition?
        for index in 0..<10 {
            transition = breaker.call(index < 4 ? .success : failure, now: clock.now)
        }
        #expect(transition?.description == "CLOSED → OPEN: failure rate 60% ≥ 50% (6 of 10 calls)")
        #expect(breaker.snapshot(now: clock.now).failureRate == 60)
        let third = CircuitBreaker.RateReached(count: 1, calls: 3, threshold: 33.3333)
        #expect(third.description == "33.33% ≥ 33.33% (1 of 3 calls)")
    }

    // MARK: Windows

    @Test func aCountWindowKeepsOnlyTheLastNOutcomes() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker {
            $0.window = .count(size: 4)
            $0.minCalls = 4
        }
        breaker.call(failure, now: clock.now)
        for _ in 0..<3 {
            breaker.call(.success, now: clock.now)
        }
        #expect(breaker.snapshot(now: clock.now).failures == 1)
        breaker.call(.success, now: clock.now)
        let snapshot = breaker.snapshot(now: clock.now)
        #expect(snapshot.calls == 4)
        #expect(snapshot.failures == 0, "the oldest outcome, the failure, was pushed out")
        // Two failures now make 2 of the last 4: 50%, which trips.
        breaker.call(failure, now: clock.now)
        #expect(breaker.state == .closed)
        breaker.call(failure, now: clock.now)
        #expect(breaker.state == .open)
    }

    @Test func aTimeWindowEvictsOldBuckets() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker {
            $0.window = .time(size: .seconds(10), bucket: .seconds(1))
            $0.minCalls = 4
        }
        let start = clock.now
        breaker.call(failure, now: clock.now)
        breaker.call(failure, now: clock.now)
        clock.advance(by: .seconds(9))
        #expect(breaker.snapshot(now: clock.now).failures == 2, "9 s later the first bucket is still in")
        clock.advance(by: .seconds(1))
        #expect(breaker.snapshot(now: clock.now).calls == 0, "10 s later it is out")
        #expect(breaker.snapshot(now: start + .seconds(5)).failures == 2, "a snapshot evicts nothing")
        // Had the failures stayed, these two successes would make 2 of 4 = 50% and trip.
        breaker.call(.success, now: clock.now)
        breaker.call(.success, now: clock.now)
        #expect(breaker.state == .closed)
        #expect(breaker.snapshot(now: clock.now).calls == 2)
    }

    @Test func aTimeWindowCountsEveryBucketStillInside() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker {
            $0.window = .time(size: .seconds(3), bucket: .seconds(1))
            $0.minCalls = 3
        }
        breaker.call(failure, now: clock.now)
        clock.advance(by: .seconds(1))
        breaker.call(.success, now: clock.now)
        clock.advance(by: .seconds(1))
        breaker.call(.success, now: clock.now)
        #expect(breaker.snapshot(now: clock.now).calls == 3)
        clock.advance(by: .seconds(1))
        #expect(breaker.snapshot(now: clock.now).window == .init(calls: 2, failures: 0, slowCalls: 0))
        breaker.call(.success, now: clock.now)
        #expect(breaker.snapshot(now: clock.now).window == .init(calls: 3, failures: 0, slowCalls: 0))
        // A result whose `now` is a little older than the newest bucket still lands in its own bucket…
        breaker.call(failure, now: clock.now - .seconds(2))
        #expect(breaker.snapshot(now: clock.now).window == .init(calls: 4, failures: 1, slowCalls: 0))
        // …unless that bucket has left the window.
        breaker.call(failure, now: clock.now - .seconds(3))
        #expect(breaker.snapshot(now: clock.now).calls == 4)
        breaker.call(failure, now: clock.now)
        #expect(breaker.state == .closed, "2 failures of 5 calls")
        breaker.call(failure, now: clock.now)
        #expect(breaker.state == .open, "3 failures of 6 calls")
    }

    // MARK: Open and half-open

    @Test func openTurnsHalfOpenOnlyStrictlyAfterTheOpenTime() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker()
        let trippedAt = clock.now
        #expect(breaker.trip(now: clock.now)?.to == .open)
        #expect(breaker.nextTransitionTime == trippedAt + .seconds(30) + .nanoseconds(1))

        clock.advance(by: .seconds(30))
        let atTheInstant = breaker.tryAcquire(now: clock.now)
        #expect(atTheInstant == .rejected(.open(retryAfter: .nanoseconds(1))))
        #expect(breaker.state == .open)

        clock.advance(by: .nanoseconds(1))
        let admission = breaker.tryAcquire(now: clock.now)
        let permit = try #require(admission.permit)
        #expect(permit.isProbe)
        #expect(
            admission.transition
                == .init(from: .open, to: .halfOpen, at: clock.now, cause: .openTimeElapsed(.seconds(30)))
        )
        #expect(breaker.state == .halfOpen)
        #expect(breaker.nextTransitionTime == nil)
    }

    @Test(arguments: 1...4)
    func halfOpenAdmitsExactlyTheConfiguredProbes(probes: Int) throws {
        var clock = ManualClock()
        var breaker = try makeBreaker { $0.halfOpenCalls = probes }
        breaker.trip(now: clock.now)
        clock.advance(by: .seconds(31))
        var permits: [CircuitBreaker.Permit] = []
        for _ in 0..<probes {
            permits.append(try #require(breaker.tryAcquire(now: clock.now).permit))
        }
        #expect(permits.allSatisfy { $0.isProbe })
        let rejected = breaker.tryAcquire(now: clock.now)
        #expect(rejected == .rejected(.probesInFlight))
        #expect(rejected.rejection?.retryAfter == nil)
        #expect(breaker.retryAfter(now: clock.now) == nil)
        #expect(breaker.snapshot(now: clock.now).probesInFlight == probes)
        // Reporting some probes does not free their slots: only the verdict ends HALF_OPEN.
        for permit in permits.dropLast() {
            #expect(breaker.record(.success, for: permit, duration: .zero, now: clock.now) == nil)
            #expect(breaker.tryAcquire(now: clock.now) == .rejected(.probesInFlight))
        }
        #expect(breaker.state == .halfOpen)
        let transition = breaker.record(.success, for: permits.last!, duration: .zero, now: clock.now)
        #expect(transition?.to == .closed)
    }

    /// The probes' outcomes, in order, and the state they lead to (`half_open_calls` 2, 50%, slow 100%).
    @Test(arguments: [
        ([false, false], [false, false], CircuitBreaker.State.closed),
        ([false, true], [false, false], .open),  // 50% failed: inclusive
        ([true, true], [false, false], .open),
        ([false, false], [true, false], .closed),  // 50% slow, under 100%
        ([false, false], [true, true], .open),  // 100% slow
    ])
    func halfOpenVerdict(failed: [Bool], slow: [Bool], expected: CircuitBreaker.State) throws {
        var clock = ManualClock()
        var breaker = try makeBreaker { $0.halfOpenCalls = 2 }
        breaker.trip(now: clock.now)
        clock.advance(by: .seconds(31))
        let permits = try (0..<2).map { _ in try #require(breaker.tryAcquire(now: clock.now).permit) }
        var transition: CircuitBreaker.Transition?
        for index in 0..<2 {
            #expect(breaker.state == .halfOpen)
            transition = breaker.record(
                failed[index] ? failure : .success,
                for: permits[index],
                duration: slow[index] ? .seconds(3) : .milliseconds(5),
                now: clock.now
            )
        }
        #expect(transition?.from == .halfOpen)
        #expect(transition?.to == expected)
        #expect(breaker.state == expected)
        if expected == .closed {
            let probes = CircuitBreaker.Tally(calls: 2, failures: failed.count { $0 }, slowCalls: slow.count { $0 })
            #expect(transition?.cause == .probesPassed(probes))
            #expect(breaker.snapshot(now: clock.now).calls == 0, "closing starts a fresh window")
            #expect(breaker.snapshot(now: clock.now).openDuration == .seconds(30))
        } else {
            #expect(breaker.snapshot(now: clock.now).openDuration == .seconds(60))
        }
    }

    @Test func theOpenTimeDoublesOnEachReopenUpToTheCapAndResetsOnClose() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker {
            $0.openFor = .seconds(10)
            $0.openForMax = .seconds(35)
        }
        breaker.trip(now: clock.now)
        var openTimes: [Duration] = []
        for _ in 0..<4 {
            let openTime = breaker.snapshot(now: clock.now).openDuration
            openTimes.append(openTime)
            #expect(breaker.tryAcquire(now: clock.now).rejection?.retryAfter == openTime + .nanoseconds(1))
            clock.advance(by: openTime + .nanoseconds(1))
            let transition = breaker.call(failure, now: clock.now)
            #expect(transition?.to == .open)
        }
        #expect(openTimes == [.seconds(10), .seconds(20), .seconds(35), .seconds(35)])

        clock.advance(by: .seconds(36))
        #expect(breaker.call(.success, now: clock.now)?.to == .closed)
        breaker.trip(now: clock.now)
        #expect(breaker.snapshot(now: clock.now).openDuration == .seconds(10))
    }

    @Test func theRejectionWhileOpenCarriesTheTimeToTheFirstProbe() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker()
        breaker.trip(now: clock.now)
        clock.advance(by: .seconds(10))
        let rejection = try #require(breaker.tryAcquire(now: clock.now).rejection)
        #expect(rejection == .open(retryAfter: .seconds(20) + .nanoseconds(1)))
        #expect(rejection.retryAfter! > .zero)
        #expect(breaker.retryAfter(now: clock.now) == rejection.retryAfter)
        // Waiting exactly that long is enough.
        clock.advance(by: rejection.retryAfter!)
        #expect(breaker.tryAcquire(now: clock.now).permit?.isProbe == true)
    }

    @Test func retryAfterIsZeroWhileClosed() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker()
        #expect(breaker.retryAfter(now: clock.now) == .zero)
        _ = breaker.force(.open, now: clock.now)
        #expect(breaker.retryAfter(now: clock.now) == nil)
    }

    // MARK: Late results and released probes

    @Test func lateResultsFromAnEarlierGenerationChangeNothing() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker()
        let late = try #require(breaker.tryAcquire(now: clock.now).permit)
        breaker.trip(now: clock.now)
        let openUntil = breaker.nextTransitionTime

        // While OPEN: no new trip, no longer open time.
        clock.advance(by: .seconds(5))
        #expect(breaker.record(failure, for: late, duration: .zero, now: clock.now) == nil)
        #expect(breaker.state == .open)
        #expect(breaker.nextTransitionTime == openUntil)

        // While HALF_OPEN: not a probe verdict, even with one probe out.
        clock.advance(by: .seconds(26))
        let probe = try #require(breaker.tryAcquire(now: clock.now).permit)
        #expect(breaker.record(.success, for: late, duration: .zero, now: clock.now) == nil)
        #expect(breaker.record(failure, for: late, duration: .zero, now: clock.now) == nil)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.snapshot(now: clock.now).probes.calls == 0)

        // After the verdict, a late probe result does not enter the fresh window.
        #expect(breaker.record(.success, for: probe, duration: .zero, now: clock.now)?.to == .closed)
        #expect(breaker.record(failure, for: probe, duration: .zero, now: clock.now) == nil)
        #expect(breaker.snapshot(now: clock.now).calls == 0)
    }

    @Test func lateResultsFromTheSameClosedGenerationCount() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker()
        let permits = try (0..<12).map { _ in try #require(breaker.tryAcquire(now: clock.now).permit) }
        #expect(permits.allSatisfy { $0.generation == breaker.generation && !$0.isProbe })
        var transitions: [CircuitBreaker.Transition] = []
        for permit in permits {
            if let transition = breaker.record(failure, for: permit, duration: .zero, now: clock.now) {
                transitions.append(transition)
            }
        }
        #expect(transitions.count == 1, "the tenth result trips; the last two are from an earlier generation")
        #expect(breaker.state == .open)
        #expect(breaker.snapshot(now: clock.now).calls == 10)
    }

    @Test func aReleasedProbeFreesItsSlot() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker()
        breaker.trip(now: clock.now)
        clock.advance(by: .seconds(31))
        let first = try #require(breaker.tryAcquire(now: clock.now).permit)
        #expect(breaker.tryAcquire(now: clock.now) == .rejected(.probesInFlight))
        let released = breaker.release(first)
        let releasedAgain = breaker.release(first)
        #expect(released)
        #expect(!releasedAgain, "a slot is given back once")

        // An ignored outcome releases too.
        let second = try #require(breaker.tryAcquire(now: clock.now).permit)
        #expect(breaker.record(.ignored, for: second, duration: .seconds(9), now: clock.now) == nil)
        #expect(breaker.state == .halfOpen)

        let third = try #require(breaker.tryAcquire(now: clock.now).permit)
        #expect(breaker.record(.success, for: third, duration: .zero, now: clock.now)?.to == .closed)
    }

    @Test func releasingAClosedPermitGivesNothingBack() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker()
        let permit = try #require(breaker.tryAcquire(now: clock.now).permit)
        let released = breaker.release(permit)
        #expect(!released)
        #expect(breaker.snapshot(now: clock.now).calls == 0)
    }

    // MARK: Operator overrides

    @Test func forcedOpenRejectsEverything() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker()
        let transition = breaker.force(.open, now: clock.now)
        #expect(transition == .init(from: .closed, to: .forcedOpen, at: clock.now, cause: .forced))
        #expect(breaker.force(.open, now: clock.now) == nil, "already forced open")
        clock.advance(by: .seconds(3_600))
        #expect(breaker.tryAcquire(now: clock.now) == .rejected(.forcedOpen))
        #expect(breaker.state == .forcedOpen)
    }

    @Test func forcedClosedRecordsButNeverTrips() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker()
        #expect(breaker.force(.closed, now: clock.now)?.to == .forcedClosed)
        for _ in 0..<50 {
            #expect(breaker.call(failure, now: clock.now) == nil)
        }
        let snapshot = breaker.snapshot(now: clock.now)
        #expect(snapshot.state == .forcedClosed)
        #expect(snapshot.calls == 10)
        #expect(snapshot.failureRate == 100)
    }

    @Test func resetReturnsToClosedWithAnEmptyWindowAndTheBaseOpenTime() throws {
        var clock = ManualClock()
        var breaker = try makeBreaker()
        breaker.trip(now: clock.now)
        clock.advance(by: .seconds(31))
        breaker.call(failure, now: clock.now)
        #expect(breaker.snapshot(now: clock.now).openDuration == .seconds(60))

        let transition = breaker.reset(now: clock.now)
        #expect(transition == .init(from: .open, to: .closed, at: clock.now, cause: .reset))
        let snapshot = breaker.snapshot(now: clock.now)
        #expect(snapshot.calls == 0)
        #expect(snapshot.openDuration == .seconds(30))
        breaker.trip(now: clock.now)
        #expect(breaker.snapshot(now: clock.now).openDuration == .seconds(30))

        _ = breaker.force(.closed, now: clock.now)
        #expect(breaker.reset(now: clock.now)?.from == .forcedClosed)
    }

    @Test func resetWhileClosedClearsTheWindowAndForgetsOlderPermits() throws {
        let clock = ManualClock()
        var breaker = try makeBreaker()
        let older = try #require(breaker.tryAcquire(now: clock.now).permit)
        breaker.call(failure, now: clock.now)
        #expect(breaker.reset(now: clock.now) == nil, "no change of state")
        #expect(breaker.snapshot(now: clock.now).calls == 0)
        _ = breaker.record(failure, for: older, duration: .zero, now: clock.now)
        #expect(breaker.snapshot(now: clock.now).calls == 0)
    }
}
