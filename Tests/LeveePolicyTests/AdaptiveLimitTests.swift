import LeveePolicy
import LeveeTestKit
import PropertyBased
import Testing

@Suite struct AdaptiveLimitTests {
    private static func limit(
        _ algorithm: AdaptiveLimitConfiguration.Algorithm,
        min: Int = 4,
        max: Int = 512,
        initial: Int,
        timeout: Duration = .seconds(5),
        probeInterval: Duration? = AdaptiveLimitConfiguration.defaultProbeInterval
    ) throws -> AdaptiveLimit {
        try AdaptiveLimit(
            configuration: AdaptiveLimitConfiguration(
                algorithm: algorithm,
                min: min,
                max: max,
                initial: initial,
                timeout: timeout,
                probeInterval: probeInterval
            ),
            maxConcurrent: 64
        )
    }

    // MARK: Examples

    @Test(arguments: [
        (nil as Int?, 64, 4, 512, 64),
        (nil, 64, 100, 512, 100),
        (nil, 64, 4, 32, 32),
        (20, 64, 4, 512, 20),
    ])
    func startsAtInitialOrMaxConcurrentClamped(
        initial: Int?,
        maxConcurrent: Int,
        min: Int,
        max: Int,
        expected: Int
    )
        throws
    {
        let configuration = AdaptiveLimitConfiguration(min: min, max: max, initial: initial)
        let limiter = try AdaptiveLimit(configuration: configuration, maxConcurrent: maxConcurrent)
        #expect(limiter.limit == expected)
        let bulkhead = try Bulkhead(
            configuration: BulkheadConfiguration(maxConcurrent: maxConcurrent, adaptive: configuration)
        )
        #expect(bulkhead.limit == expected)
    }

    @Test func gradient2FollowsNetflixArithmetic() throws {
        var limiter = try Self.limit(.gradient2, initial: 20)
        // long = 10 ms, gradient = min(1, 1.5) = 1: 0.8·20 + 0.2·(20 + 4) = 20.8.
        #expect(limiter.record(.init(rtt: .milliseconds(10), inFlight: 20)) == nil)
        #expect(abs(limiter.estimate - 20.8) < 1e-9)
        // long = 20 ms, gradient = 1.5·20/30 = 1: 0.8·20.8 + 0.2·24.8 = 21.6.
        let rose = limiter.record(.init(rtt: .milliseconds(30), inFlight: 20))
        #expect(rose?.from == 20 && rose?.to == 21)
        #expect(rose?.longRTT == .milliseconds(20) && rose?.shortRTT == .milliseconds(30))
        // long = 60 ms after (10 + 30 + 140) / 3, gradient = 1.5·60/140 = 0.643:
        // 0.8·21.6 + 0.2·(21.6·0.643 + 4) = 20.857.
        let fell = limiter.record(.init(rtt: .milliseconds(140), inFlight: 21))
        #expect(fell?.to == 20)
        #expect(abs(limiter.estimate - (0.8 * 21.6 + 0.2 * (21.6 * (1.5 * 60 / 140) + 4))) < 1e-9)
        #expect(limiter.longRTT == .milliseconds(60))
    }

    @Test func gradient2HoldsWhileTheAppUsesLessThanHalfTheSlots() throws {
        var limiter = try Self.limit(.gradient2, initial: 40)
        for _ in 0..<50 {
            #expect(limiter.record(.init(rtt: .seconds(1), inFlight: 19)) == nil)
        }
        #expect(limiter.limit == 40)
        #expect(limiter.shortRTT == .seconds(1))
    }

    @Test func aimdAddsOneAndBacksOffOnADropOrASlowSample() throws {
        var limiter = try Self.limit(.aimd, initial: 20, timeout: .milliseconds(100))
        #expect(limiter.record(.init(rtt: .milliseconds(10), inFlight: 10))?.to == 21)
        // Fewer than half the slots in use: holds.
        #expect(limiter.record(.init(rtt: .milliseconds(10), inFlight: 10)) == nil)
        #expect(limiter.record(.init(rtt: .milliseconds(10), inFlight: 11, dropped: true))?.to == 18)
        #expect(limiter.record(.init(rtt: .milliseconds(101), inFlight: 18))?.to == 16)
        // At the timeout exactly, not a drop (Netflix: `rtt > timeout`).
        #expect(limiter.record(.init(rtt: .milliseconds(100), inFlight: 16))?.to == 17)
    }

    @Test(arguments: AdaptiveLimitConfiguration.Algorithm.allCases)
    func neverLeavesMinAndMax(algorithm: AdaptiveLimitConfiguration.Algorithm) throws {
        // Above 8: Gradient2's added queue of 4 keeps a halved limit of 8 or less from falling further.
        var limiter = try Self.limit(algorithm, min: 10, max: 14, initial: 12, timeout: .milliseconds(50))
        for _ in 0..<3000 { limiter.record(.init(rtt: .milliseconds(1), inFlight: 14)) }
        #expect(limiter.limit == 14)
        for _ in 0..<100 { limiter.record(.init(rtt: .seconds(2), inFlight: 14, dropped: true)) }
        #expect(limiter.limit == 10)
    }

    // MARK: Properties

    @Test func staysWithinMinAndMaxAndReportsEveryChange() async {
        await propertyCheck(
            count: 300,
            input: Gen.int(in: 0...Int.max).array(of: 1...400),
            Gen.int(in: 1...64),
            Gen.int(in: 0...512),
            Gen.int(in: 0...1)
        ) { codes, min, span, algorithm in
            let max = min + span
            var limiter = try AdaptiveLimit(
                configuration: AdaptiveLimitConfiguration(
                    algorithm: algorithm == 0 ? .gradient2 : .aimd,
                    min: min,
                    max: max,
                    timeout: .milliseconds(200)
                ),
                maxConcurrent: 64
            )
            for code in codes {
                // An RTT of 0 to 2 s, in-flight 0 to 1 000, a drop one time in eight.
                let sample = AdaptiveLimit.Sample(
                    rtt: .microseconds(code % 2_000_001),
                    inFlight: (code / 2_000_001) % 1_001,
                    dropped: (code / 2_002_003_001) % 8 == 0
                )
                let before = limiter.limit
                let change = limiter.record(sample)
                #expect(limiter.limit >= min && limiter.limit <= max)
                #expect(change.map { $0.from == before && $0.to == limiter.limit } ?? (before == limiter.limit))
            }
        }
    }

    /// An upstream whose latency is `base` up to `knee` calls in flight, and `slope` more for each call
    /// above: once the load saturates the limit, the limit falls to about where the latency is twice
    /// the unloaded one (Gradient2 by its gradient against the long RTT learnt unloaded, AIMD by drops
    /// at a `timeout` of twice the unloaded latency); when the latency comes back at any concurrency,
    /// the limit climbs back.
    @Test(arguments: AdaptiveLimitConfiguration.Algorithm.allCases)
    func fallsWhenLatencyRisesWithConcurrencyAndRecoversWhenItDoes(
        algorithm: AdaptiveLimitConfiguration.Algorithm
    ) async {
        await propertyCheck(
            count: 300,
            input: Gen.int(in: 8...64),
            Gen.int(in: 1...50),
            Gen.int(in: 1...5)
        ) { knee, baseMilliseconds, slopeMilliseconds in
            let base = Duration.milliseconds(baseMilliseconds)
            let slope = Duration.milliseconds(slopeMilliseconds)
            func latency(_ inFlight: Int) -> Duration { base + slope * max(0, inFlight - knee) }
            let initial = 4 * knee
            var limiter = try Self.limit(algorithm, initial: initial, timeout: base * 2)
            // Light load: the upstream's unloaded latency is learnt, the limit holds.
            for _ in 0..<100 { limiter.record(.init(rtt: base, inFlight: 1)) }
            #expect(limiter.limit == initial)

            // Load that fills every slot: the latency rises with the limit.
            var lowest = limiter.limit
            for _ in 0..<300 {
                let inFlight = limiter.limit
                limiter.record(.init(rtt: latency(inFlight), inFlight: inFlight))
                lowest = min(lowest, limiter.limit)
            }
            let bound = knee + 2 * baseMilliseconds / slopeMilliseconds + 8
            #expect(lowest <= bound, "knee \(knee), base \(base), slope \(slope): lowest \(lowest)")
            #expect(lowest < initial || latency(initial) <= base * 2)

            // The upstream is fast again at any concurrency: the limit climbs back.
            var samples = 0
            while limiter.limit < initial && samples < 1_000 {
                limiter.record(.init(rtt: base, inFlight: limiter.limit))
                samples += 1
            }
            #expect(limiter.limit >= initial, "after \(samples) samples: \(limiter.limit)")
        }
    }

    // MARK: Windows

    @Test func aWindowFoldsItsSamplesIntoOneUpdate() throws {
        // AIMD adds one per good sample while half the slots are in use: per sample, 12 samples would
        // add 12; in one window they add 1.
        var limiter = try Self.limit(.aimd, initial: 20)
        var clock = ManualClock()
        #expect(limiter.record(.init(rtt: .milliseconds(5), inFlight: 15), now: clock.now) == nil)
        for _ in 0..<11 {
            clock.advance(by: .microseconds(50))
            #expect(limiter.record(.init(rtt: .milliseconds(5), inFlight: 15), now: clock.now) == nil)
        }
        #expect(limiter.limit == 20)
        clock.advance(by: AdaptiveLimit.minimumWindow)
        let change = limiter.record(.init(rtt: .milliseconds(5), inFlight: 15), now: clock.now)
        #expect(change?.from == 20 && change?.to == 21)
        #expect(limiter.samples == 1)

        // The next window lasts twice the shortest RTT of the last (10 ms): a drop in it counts once,
        // at its end.
        clock.advance(by: .milliseconds(9))
        for _ in 0..<11 { limiter.record(.init(rtt: .milliseconds(5), inFlight: 15, dropped: true), now: clock.now) }
        #expect(limiter.limit == 21)
        clock.advance(by: .milliseconds(1))
        #expect(limiter.record(.init(rtt: .milliseconds(5), inFlight: 15), now: clock.now)?.to == 18)
    }

    @Test func aWindowWaitsForMoreThanTenSamples() throws {
        // Light traffic: one sample every 5 s, far apart beyond the window's time. The window stays
        // open until it holds eleven, then counts as one update.
        var limiter = try Self.limit(.aimd, initial: 4)
        var clock = ManualClock()
        for _ in 0..<AdaptiveLimit.windowSamples {
            #expect(limiter.record(.init(rtt: .milliseconds(2), inFlight: 2), now: clock.now) == nil)
            clock.advance(by: .seconds(5))
        }
        #expect(limiter.limit == 4)
        #expect(limiter.samples == 0)
        #expect(limiter.record(.init(rtt: .milliseconds(2), inFlight: 2), now: clock.now)?.to == 5)
        #expect(limiter.samples == 1)
    }

    /// A closed loop, as the bulkhead lives it: `clients(t)` callers keep `min(limit, clients)` requests
    /// out; each takes the upstream's latency at the concurrency it started with (`base(t)` up to 32 in
    /// flight, 2 ms more for each one above), so the limit hears of a change one round trip late. `t` is
    /// the time since the start; `observe` sees the limiter and each answer's latency every 250 µs.
    private static func closedLoop(
        _ limiter: inout AdaptiveLimit,
        for duration: Duration,
        clients: (Duration) -> Int,
        base: (Duration) -> Duration = { _ in .milliseconds(10) },
        observe: (Duration, AdaptiveLimit, [Duration]) -> Void
    ) {
        var clock = ManualClock()
        let start = clock.now
        var out: [(ends: Instant, inFlight: Int, rtt: Duration)] = []
        while clock.now - start < duration {
            let t = clock.now - start
            out.sort { $0.ends < $1.ends }
            var answered: [Duration] = []
            while let first = out.first, first.ends <= clock.now {
                out.removeFirst()
                limiter.record(.init(rtt: first.rtt, inFlight: first.inFlight), now: clock.now)
                answered.append(first.rtt)
            }
            while out.count < min(limiter.limit, clients(t)) {
                let inFlight = out.count + 1
                let rtt = base(t) + .milliseconds(2) * max(0, inFlight - 32)
                out.append((clock.now + rtt, inFlight, rtt))
            }
            observe(t, limiter, answered)
            clock.advance(by: .microseconds(250))
        }
    }

    /// Windowed, neither algorithm swings: from a second after the load rose past the knee, the limit
    /// stays near the knee, and the latency with it.
    @Test(arguments: AdaptiveLimitConfiguration.Algorithm.allCases)
    func windowsKeepTheLimitNearTheKneeOfAClosedLoop(algorithm: AdaptiveLimitConfiguration.Algorithm) throws {
        var limiter = try Self.limit(algorithm, initial: 64, timeout: .milliseconds(20))
        var lowest = Int.max
        var highest = 0
        var slowest = Duration.zero
        // 16 callers for a second (the unloaded latency is learnt), then 64; counted from a second later.
        Self.closedLoop(&limiter, for: .seconds(7), clients: { $0 < .seconds(1) ? 16 : 64 }) { t, limiter, answered in
            guard t >= .seconds(2) else { return }
            lowest = min(lowest, limiter.limit)
            highest = max(highest, limiter.limit)
            slowest = max(slowest, answered.max() ?? .zero)
        }
        #expect(lowest >= 16, "\(algorithm): the limit fell to \(lowest)")
        #expect(highest <= 48, "\(algorithm): the limit rose to \(highest)")
        #expect(slowest <= .milliseconds(40), "\(algorithm): an answer took \(slowest)")
    }

    /// Under a load that keeps every slot busy for a minute, Gradient2's long RTT stays the unloaded
    /// latency and the limit stays at the knee, probed every `probe_interval` (30 s by default): once
    /// when the load first rose past half the limit (at 2 s), then every interval after (each a few
    /// windows later than due). With `off`, the long RTT is Netflix's average alone: it learns the
    /// latency the tolerance allows, and the limit climbs with it (in this model with a 10.6 ms base:
    /// 39 → 64, and the long RTT 10.6 → 47 ms, over the minute; concurrency-limits #137).
    @Test(arguments: [
        (AdaptiveLimitConfiguration.defaultProbeInterval, 2), (Duration?.some(.seconds(10)), 6), (nil, 0),
    ])
    func gradient2sLongRTTDriftsOnlyWithoutProbes(interval: Duration?, expected: Int) throws {
        var limiter = try Self.limit(.gradient2, initial: 64, probeInterval: interval)
        var highest = 0
        var longest = Duration.zero
        var probes = 0
        var wasProbing = false
        Self.closedLoop(&limiter, for: .seconds(62), clients: { $0 < .seconds(2) ? 16 : 64 }) { t, limiter, _ in
            if limiter.isProbing, !wasProbing { probes += 1 }
            wasProbing = limiter.isProbing
            guard t >= .seconds(4), !limiter.isProbing else { return }
            highest = max(highest, limiter.limit)
            longest = max(longest, limiter.longRTT)
        }
        #expect(probes == expected, "\(probes) probes in a minute")
        if interval == nil {
            #expect(longest > .milliseconds(20), "the long RTT stayed at \(longest)")
            #expect(highest > 40, "the limit stayed at \(highest)")
        } else {
            #expect(highest <= 40, "the limit rose to \(highest)")
            #expect(longest <= .milliseconds(11), "the long RTT rose to \(longest)")
        }
    }

    /// A limiter that starts under a load already past the knee (64 callers, the limit at 128) takes
    /// their latency, 74 ms, for the normal one, and the load never reaches the limit: without a
    /// probe it would stay there. The first probe, after the long RTT's first 10 windows, measures the
    /// upstream at half the load, and the limit comes down to the knee.
    @Test func gradient2StartedPastTheKneeFindsIt() throws {
        var limiter = try Self.limit(.gradient2, initial: 128)
        var highest = 0
        var longest = Duration.zero
        Self.closedLoop(&limiter, for: .seconds(20), clients: { _ in 64 }) { t, limiter, _ in
            guard t >= .seconds(10), !limiter.isProbing else { return }
            highest = max(highest, limiter.limit)
            longest = max(longest, limiter.longRTT)
        }
        #expect(highest <= 40, "the limit stayed at \(highest)")
        #expect(longest <= .milliseconds(11), "the long RTT stayed at \(longest)")
    }

    /// An upstream that becomes twice as slow for every call, whatever the load: the long RTT, held
    /// under the last probe's measurement, is measured again by the next probe, and the limit comes
    /// back to the knee instead of staying where the old latency put it.
    @Test func gradient2sProbeFollowsAnUpstreamThatBecameSlowerForEveryCall() throws {
        var limiter = try Self.limit(.gradient2, initial: 64)
        var lowestAfterProbe = Int.max
        var longAtEnd = Duration.zero
        Self.closedLoop(
            &limiter,
            for: .seconds(75),
            clients: { $0 < .seconds(2) ? 16 : 64 },
            base: { $0 < .seconds(20) ? .milliseconds(10) : .milliseconds(20) }
        ) { t, limiter, _ in
            guard t >= .seconds(65), !limiter.isProbing else { return }
            lowestAfterProbe = min(lowestAfterProbe, limiter.limit)
            longAtEnd = limiter.longRTT
        }
        #expect(longAtEnd >= .milliseconds(19) && longAtEnd <= .milliseconds(22), "long RTT \(longAtEnd)")
        #expect(lowestAfterProbe >= 30, "the limit stayed at \(lowestAfterProbe)")
    }

    @Test func aProbeHalvesTheLimitUntilDrainedThenTakesTheLongRTTAndItsCeiling() throws {
        var limiter = try Self.limit(.gradient2, initial: 40)
        var clock = ManualClock()
        // Eleven samples, the last one after the window's time: it closes the window with all of them.
        func window(rtt: Duration, inFlight: Int) -> AdaptiveLimit.Change? {
            for _ in 0..<AdaptiveLimit.windowSamples {
                #expect(limiter.record(.init(rtt: rtt, inFlight: inFlight), now: clock.now) == nil)
            }
            clock.advance(by: .milliseconds(100))
            return limiter.record(.init(rtt: rtt, inFlight: inFlight), now: clock.now)
        }
        // Learn 10 ms unloaded, then keep the limit binding at 15 ms until the probe is due.
        for _ in 0..<12 { _ = window(rtt: .milliseconds(10), inFlight: 10) }
        #expect(!limiter.isProbing)
        var probe: AdaptiveLimit.Change?
        for _ in 0..<400 where probe == nil {
            let limit = limiter.limit
            if let change = window(rtt: .milliseconds(15), inFlight: limit), limiter.isProbing { probe = change }
        }
        let started = try #require(probe)
        #expect(started.to == max(4, started.from / 2))
        #expect(started.reason == .probeStarted)
        #expect(started.description.contains("to measure the RTT at half the load"))
        // The window that drains changes nothing; the next one's RTT becomes the long RTT.
        #expect(window(rtt: .milliseconds(30), inFlight: started.to) == nil)
        #expect(limiter.isProbing)
        let ended = window(rtt: .milliseconds(12), inFlight: started.to)
        #expect(!limiter.isProbing)
        #expect(limiter.longRTT == .milliseconds(12))
        #expect(ended?.from == started.to)
        #expect(ended?.reason == .probeEnded)
        // And its ceiling until the next probe: slower windows at the full limit do not raise it.
        for _ in 0..<20 { _ = window(rtt: .milliseconds(30), inFlight: limiter.limit) }
        #expect(limiter.longRTT == .milliseconds(12))
    }
}
