import LeveePolicy
import LeveeTestKit
import PropertyBased
import Testing

/// Properties of the breaker under random sequences of events, checked against naive models.
@Suite struct CircuitBreakerPropertyTests {
    /// One random event: what it does is `code % 6`, and `code / 6` picks which outstanding permit.
    enum Step {
        case acquire
        case recordFailure(pick: Int)
        case recordSuccess(pick: Int, slow: Bool)
        case release(pick: Int)
        case advance

        init(_ code: Int) {
            let pick = code / 6
            switch code % 6 {
            case 0, 1: self = .acquire
            case 2: self = .recordFailure(pick: pick)
            case 3: self = .recordSuccess(pick: pick, slow: pick % 2 == 0)
            case 4: self = .release(pick: pick)
            default: self = .advance
            }
        }
    }

    static let steps = Gen.int(in: 0...119).array(of: 1...300)

    /// Whatever the interleaving of acquires, results, releases and time, HALF_OPEN never has more than
    /// `half_open_calls` probes out or reported: counted from the outside, per generation, as the probe
    /// permits handed out minus those given back.
    @Test func halfOpenNeverAdmitsMoreThanTheConfiguredProbes() async {
        await propertyCheck(input: Gen.int(in: 1...4), Gen.int(in: 1...8), Self.steps) {
            halfOpenCalls,
            windowSize,
            codes in
            var clock = ManualClock()
            var breaker = try CircuitBreaker(
                configuration: CircuitBreakerConfiguration(
                    window: .count(size: windowSize),
                    minCalls: min(2, windowSize),
                    openFor: .seconds(10),
                    openForMax: .seconds(40),
                    halfOpenCalls: halfOpenCalls
                )
            )
            var outstanding: [CircuitBreaker.Permit] = []
            var probesHeld: [UInt64: Int] = [:]
            for code in codes {
                switch Step(code) {
                case .acquire:
                    guard let permit = breaker.tryAcquire(now: clock.now).permit else { break }
                    outstanding.append(permit)
                    if permit.isProbe {
                        probesHeld[permit.generation, default: 0] += 1
                        #expect(probesHeld[permit.generation]! <= halfOpenCalls)
                    }
                case .recordFailure(let pick):
                    guard !outstanding.isEmpty else { break }
                    let permit = outstanding.remove(at: pick % outstanding.count)
                    _ = breaker.record(.failure(.timeout), for: permit, duration: .seconds(1), now: clock.now)
                case .recordSuccess(let pick, let slow):
                    guard !outstanding.isEmpty else { break }
                    let permit = outstanding.remove(at: pick % outstanding.count)
                    let duration: Duration = slow ? .seconds(3) : .milliseconds(1)
                    _ = breaker.record(.success, for: permit, duration: duration, now: clock.now)
                case .release(let pick):
                    guard !outstanding.isEmpty else { break }
                    let permit = outstanding.remove(at: pick % outstanding.count)
                    if breaker.release(permit) {
                        probesHeld[permit.generation, default: 0] -= 1
                    }
                case .advance:
                    clock.advance(by: .seconds(11))
                }
                let snapshot = breaker.snapshot(now: clock.now)
                #expect(snapshot.probesInFlight + snapshot.probes.calls <= halfOpenCalls)
                #expect(snapshot.probesInFlight >= 0)
                if snapshot.state != .halfOpen {
                    #expect(snapshot.probesInFlight == 0)
                }
            }
        }
    }

    /// The window's numbers stay within the window, whatever trips and closes along the way.
    @Test func snapshotCountsNeverExceedTheWindowSize() async {
        await propertyCheck(input: Gen.int(in: 1...12), Self.steps) { windowSize, codes in
            var clock = ManualClock()
            var breaker = try CircuitBreaker(
                configuration: CircuitBreakerConfiguration(
                    window: .count(size: windowSize),
                    minCalls: min(3, windowSize),
                    openFor: .seconds(10),
                    openForMax: .seconds(40),
                    halfOpenCalls: 2
                )
            )
            var outstanding: [CircuitBreaker.Permit] = []
            for code in codes {
                switch Step(code) {
                case .acquire:
                    if let permit = breaker.tryAcquire(now: clock.now).permit { outstanding.append(permit) }
                case .recordFailure(let pick), .recordSuccess(let pick, _), .release(let pick):
                    guard !outstanding.isEmpty else { break }
                    let permit = outstanding.remove(at: pick % outstanding.count)
                    let outcome: AttemptOutcome = pick % 3 == 0 ? .failure(.reset) : .success
                    _ = breaker.record(outcome, for: permit, duration: .seconds(pick % 4), now: clock.now)
                case .advance:
                    clock.advance(by: .seconds(11))
                }
                let window = breaker.snapshot(now: clock.now).window
                #expect(window.calls <= windowSize)
                #expect(window.calls >= 0)
                #expect(window.failures >= 0 && window.failures <= window.calls)
                #expect(window.slowCalls >= 0 && window.slowCalls <= window.calls)
            }
        }
    }

    /// A CLOSED breaker fed one call at a time trips exactly at the first outcome after which the last
    /// `size` outcomes meet the rule, computed naively: ≥ `min_calls` and a rate at or above a threshold.
    @Test func aClosedBreakerTripsExactlyWhenTheNaiveRuleSaysSo() async {
        await propertyCheck(
            input: Gen.int(in: 1...10),
            Gen.int(in: 1...10),
            Gen.int(in: 1...100),
            Gen.int(in: 1...100),
            Gen.int(in: 0...3).array(of: 1...60)
        ) { windowSize, minCalls, failureRate, slowRate, outcomes in
            guard minCalls <= windowSize else { return }
            let clock = ManualClock()
            var breaker = try CircuitBreaker(
                configuration: CircuitBreakerConfiguration(
                    window: .count(size: windowSize),
                    minCalls: minCalls,
                    failureRate: Double(failureRate),
                    slowCall: .init(duration: .seconds(1), rate: Double(slowRate))
                )
            )
            var history: [Int] = []
            for code in outcomes {
                let permit = try #require(breaker.tryAcquire(now: clock.now).permit)
                let outcome: AttemptOutcome = code & 1 == 1 ? .failure(.connectFailure) : .success
                let duration: Duration = code & 2 == 2 ? .seconds(2) : .seconds(1)
                let transition = breaker.record(outcome, for: permit, duration: duration, now: clock.now)
                history.append(code)
                let last = history.suffix(windowSize)
                let failures = last.count { $0 & 1 == 1 }
                let slow = last.count { $0 & 2 == 2 }
                let shouldTrip =
                    last.count >= minCalls
                    && (failures * 100 >= failureRate * last.count || slow * 100 >= slowRate * last.count)
                #expect((transition != nil) == shouldTrip)
                if shouldTrip {
                    #expect(breaker.state == .open)
                    break
                }
                #expect(
                    breaker.snapshot(now: clock.now).window
                        == .init(calls: last.count, failures: failures, slowCalls: slow)
                )
            }
        }
    }

    /// A time window holds exactly the outcomes whose bucket is one of the last `size / bucket` ones,
    /// checked against a list of every outcome with its time (FORCED_CLOSED, so nothing trips).
    @Test func aTimeWindowHoldsExactlyTheRecentBuckets() async {
        await propertyCheck(input: Gen.int(in: 1...6), Gen.int(in: 0...15_999).array(of: 1...200)) {
            seconds,
            codes in
            var clock = ManualClock()
            var breaker = try CircuitBreaker(
                configuration: CircuitBreakerConfiguration(
                    window: .time(size: .seconds(seconds), bucket: .seconds(1)),
                    minCalls: 1
                )
            )
            _ = breaker.force(.closed, now: clock.now)
            var history: [(second: Int64, failed: Bool)] = []
            for code in codes {
                clock.advance(by: .milliseconds(code / 4))
                let failed = code % 2 == 1
                let permit = try #require(breaker.tryAcquire(now: clock.now).permit)
                _ = breaker.record(failed ? .failure(.reset) : .success, for: permit, duration: .zero, now: clock.now)
                let second = clock.now.nanoseconds / 1_000_000_000
                history.append((second, failed))
                let live = history.filter { $0.second > second - Int64(seconds) }
                let snapshot = breaker.snapshot(now: clock.now)
                #expect(snapshot.calls == live.count)
                #expect(snapshot.failures == live.count { $0.failed })
                // A later snapshot leaves out what time pushes out, without recording anything.
                let later = clock.now + .milliseconds(code)
                let laterSecond = later.nanoseconds / 1_000_000_000
                let stillLive = history.filter { $0.second > laterSecond - Int64(seconds) }
                #expect(breaker.snapshot(now: later).calls == stillLive.count)
            }
        }
    }
}
