import LeveePolicy
import Testing

@Suite struct GRPCTimeoutTests {
    @Test(arguments: [
        (Duration.nanoseconds(1), "1n"),
        (.nanoseconds(99_999_999), "99999999n"),
        (.milliseconds(100), "100000u"),
        (.milliseconds(250), "250000u"),
        (.seconds(1), "1000000u"),
        (.seconds(5), "5000000u"),
        (.seconds(5) + .nanoseconds(999), "5000000u"),
        (.seconds(500), "500000m"),
        (.seconds(99_999), "99999000m"),
        (.seconds(100_000), "100000S"),
        (.seconds(100_000_000), "1666666M"),
        (.seconds(Int64.max), "2562047H"),
        (.zero, "0n"),
        (.seconds(-3), "0n"),
    ])
    func encodesInTheFinestUnitThatFitsRoundingDown(duration: Duration, expected: String) {
        let timeout = GRPCTimeout(rounding: duration)
        #expect(timeout.headerValue == expected)
        #expect(timeout.duration <= max(duration, .zero))
    }

    @Test(arguments: [
        ("1H", Duration.seconds(3_600)),
        ("2M", .seconds(120)),
        ("30S", .seconds(30)),
        ("250m", .milliseconds(250)),
        ("10u", .microseconds(10)),
        ("7n", .nanoseconds(7)),
        ("0m", .zero),
        ("00000001S", .seconds(1)),
        ("99999999H", .seconds(99_999_999 * 3_600)),
    ])
    func parses(value: String, expected: Duration) {
        #expect(GRPCTimeout(headerValue: value)?.duration == expected)
    }

    @Test(arguments: [
        "", "S", "100", "123456789S", "-1S", "+1S", "1s", "1x", "1.5S", " 1S", "1S ", "1 S", "a1S", "1SS",
    ])
    func rejects(value: String) {
        #expect(GRPCTimeout(headerValue: value) == nil)
    }

    @Test(arguments: [Int64(0), 1, 999, 1_000_000, 123_456_789_012, 9_876_543_210_987_654])
    func roundTripLosesLessThanOneHundredThousandth(nanoseconds: Int64) throws {
        let duration = Duration.nanoseconds(nanoseconds)
        let parsed = try #require(GRPCTimeout(headerValue: GRPCTimeout(rounding: duration).headerValue))
        #expect(parsed.duration <= duration)
        #expect(duration - parsed.duration <= duration / 100_000 + .nanoseconds(1))
    }

    @Test func valueOutOfRangeIsNoTimeout() {
        #expect(GRPCTimeout(value: 100_000_000, unit: .seconds) == nil)
        #expect(GRPCTimeout(value: -1, unit: .seconds) == nil)
        #expect(GRPCTimeout(value: 5, unit: .minutes)?.headerValue == "5M")
    }
}
