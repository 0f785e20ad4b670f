import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct BackoffTests {
    @Test(arguments: [
        (1, Duration.milliseconds(25)),
        (2, .milliseconds(50)),
        (3, .milliseconds(100)),
        (6, .milliseconds(800)),
        (7, .seconds(1)),
        (64, .seconds(1)),
        (Int.max, .seconds(1)),
        (0, .milliseconds(25)),
        (-5, .milliseconds(25)),
    ])
    func ceilingGrowsByTheMultiplierUpToTheCap(retry: Int, expected: Duration) {
        #expect(Backoff().ceiling(forRetry: retry) == expected)
    }

    @Test func noJitterIsTheCeilingItself() {
        var backoff = Backoff(configuration: .init(jitter: .none))
        var rng = SeededRandom(seed: 1)
        var delays: [Duration] = []
        for retry in 1...8 { delays.append(backoff.delay(forRetry: retry, using: &rng)) }
        #expect(delays == (1...8).map { Backoff(configuration: .init(jitter: .none)).ceiling(forRetry: $0) })
    }

    @Test(arguments: [1, 2, 3, 5, 10, 40, 1_000_000])
    func fullJitterStaysUnderTheCeiling(retry: Int) {
        var backoff = Backoff()
        var rng = SeededRandom(seed: UInt64(retry))
        let ceiling = backoff.ceiling(forRetry: retry)
        var sum = Duration.zero
        for _ in 0..<2_000 {
            let delay = backoff.delay(forRetry: retry, using: &rng)
            #expect(delay >= .zero && delay <= ceiling)
            sum += delay
        }
        // U(0, v) has mean v/2.
        let mean = sum / 2_000
        #expect(mean > ceiling * 0.45 && mean < ceiling * 0.55)
    }

    @Test(arguments: [1, 3, 7, 100])
    func equalJitterStaysInTheUpperHalf(retry: Int) {
        var backoff = Backoff(configuration: .init(jitter: .equal))
        var rng = SeededRandom(seed: 7)
        let ceiling = backoff.ceiling(forRetry: retry)
        for _ in 0..<2_000 {
            let delay = backoff.delay(forRetry: retry, using: &rng)
            #expect(delay >= ceiling / 2 && delay <= ceiling)
        }
    }

    @Test func decorrelatedJitterStaysBetweenBaseAndCap() {
        var backoff = Backoff(configuration: .init(jitter: .decorrelated))
        var rng = SeededRandom(seed: 99)
        var previous = Duration.milliseconds(25)
        for retry in 1...5_000 {
            let delay = backoff.nextDelay(using: &rng)
            #expect(delay >= .milliseconds(25) && delay <= .seconds(1))
            if retry > 1 { #expect(delay <= previous * 3) }
            previous = delay
        }
    }

    @Test func decorrelatedJitterRestartsFromBaseAtTheFirstRetry() {
        var backoff = Backoff(configuration: .init(jitter: .decorrelated))
        var rng = SeededRandom(seed: 3)
        for _ in 0..<50 { _ = backoff.nextDelay(using: &rng) }
        for _ in 0..<200 {
            #expect(backoff.delay(forRetry: 1, using: &rng) <= .milliseconds(75))
        }
    }

    @Test func nextDelayCountsRetriesAndResetStartsOver() {
        var backoff = Backoff(configuration: .init(jitter: .none))
        var rng = SeededRandom(seed: 1)
        #expect(backoff.nextDelay(using: &rng) == .milliseconds(25))
        #expect(backoff.nextDelay(using: &rng) == .milliseconds(50))
        #expect(backoff.retriesDrawn == 2)
        backoff.reset()
        #expect(backoff.retriesDrawn == 0)
        #expect(backoff.nextDelay(using: &rng) == .milliseconds(25))
    }

    @Test func hugeBaseAndMultiplierSaturateAtTheCap() {
        let config = BackoffConfiguration(base: .seconds(1_000), multiplier: 100, max: .seconds(Int64.max))
        var backoff = Backoff(configuration: config)
        var rng = SeededRandom(seed: 5)
        let delay = backoff.delay(forRetry: Int.max, using: &rng)
        #expect(delay >= .zero && delay <= .nanoseconds(Int64.max))
        #expect(backoff.ceiling(forRetry: Int.max) == .nanoseconds(Int64.max))
    }

    @Test func multiplierOfOneKeepsTheBase() {
        let backoff = Backoff(configuration: .init(base: .milliseconds(10), multiplier: 1))
        #expect(backoff.ceiling(forRetry: 1_000_000) == .milliseconds(10))
    }

    @Test func sameSeedSameDelays() {
        var a = Backoff()
        var b = Backoff()
        var rngA = SeededRandom(seed: 42)
        var rngB = SeededRandom(seed: 42)
        var delaysA: [Duration] = []
        var delaysB: [Duration] = []
        for _ in 0..<10 {
            delaysA.append(a.nextDelay(using: &rngA))
            delaysB.append(b.nextDelay(using: &rngB))
        }
        #expect(delaysA == delaysB)
    }

    @Test func defaultsFollowTheDesign() {
        let defaults = BackoffConfiguration.defaults
        #expect(defaults.base == .milliseconds(25))
        #expect(defaults.multiplier == 2)
        #expect(defaults.max == .seconds(1))
        #expect(defaults.jitter == .full)
        #expect(throws: Never.self) { try defaults.validate() }
    }

    @Test(arguments: [
        (BackoffConfiguration(base: .zero), "base", "0s"),
        (BackoffConfiguration(multiplier: 0.5), "multiplier", "0.5"),
        (BackoffConfiguration(multiplier: .nan), "multiplier", "nan"),
        (BackoffConfiguration(base: .seconds(2), max: .seconds(1)), "max", "1s"),
    ])
    func validateNamesTheBadKey(config: BackoffConfiguration, key: String, value: String) {
        #expect {
            try config.validate()
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.keyPath == key && error?.value == value
        }
    }

    @Test(arguments: ["none", "full", "equal", "decorrelated"])
    func jitterParsesFromItsConfigName(name: String) {
        #expect(BackoffConfiguration.Jitter(rawValue: name)?.rawValue == name)
    }
}
