import LeveePolicy
import Testing

@Suite struct InstantTests {
    @Test func addingAndSubtractingDurations() {
        let start = Instant(nanoseconds: 1_000)
        #expect((start + .microseconds(2)).nanoseconds == 3_000)
        #expect((start - .nanoseconds(400)).nanoseconds == 600)
        #expect(Instant(nanoseconds: 5_000) - start == .nanoseconds(4_000))
    }

    @Test func additionSaturatesInsteadOfOverflowing() {
        #expect(Instant.distantFuture + .seconds(1) == .distantFuture)
        #expect(Instant(nanoseconds: .max - 5) + .seconds(1) == .distantFuture)
    }

    @Test(arguments: [
        (Duration.seconds(2), Int64(2_000_000_000)),
        (.milliseconds(250), 250_000_000),
        (.nanoseconds(-7), -7),
        (.seconds(Int64.max), Int64.max),
    ])
    func durationInNanoseconds(duration: Duration, expected: Int64) {
        #expect(duration.nanoseconds == expected)
    }

    @Test func millisecondsRoundUpSoAWaitNeverReadsAsZero() {
        #expect(Duration.nanoseconds(1).millisecondsRoundedUp == 1)
        #expect(Duration.milliseconds(3).millisecondsRoundedUp == 3)
        #expect(Duration.zero.millisecondsRoundedUp == 0)
    }

    @Test func configurationErrorNamesThePath() {
        let error = ConfigurationError(keyPath: "min_calls", value: "0", expected: "an integer ≥ 1")
            .prefixed(by: "upstreams.payments.breaker")
        #expect(error.keyPath == "upstreams.payments.breaker.min_calls")
        #expect(error.description == "upstreams.payments.breaker.min_calls: expected an integer ≥ 1, got 0")
    }

    @Test func seededGeneratorRepeats() {
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        #expect((0..<8).map { _ in a.next() } == (0..<8).map { _ in b.next() })
    }
}
