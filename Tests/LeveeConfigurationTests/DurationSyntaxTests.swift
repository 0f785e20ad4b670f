import LeveePolicy
import Testing

@testable import LeveeConfiguration

@Suite("durations")
struct DurationSyntaxTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)),
        ("2s", .seconds(2)),
        ("1m", .seconds(60)),
        ("1h", .seconds(3600)),
        ("500us", .microseconds(500)),
        ("500µs", .microseconds(500)),
        ("750ns", .nanoseconds(750)),
        ("1.5s", .milliseconds(1500)),
        ("0.1s", .milliseconds(100)),
        (".5s", .milliseconds(500)),
        ("2.25m", .seconds(135)),
        ("1m30s", .seconds(90)),
        ("1h0m0.5s", .milliseconds(3_600_500)),
        ("0s", .zero),
        ("1.0000000019s", .nanoseconds(1_000_000_001)),
    ])
    func valid(text: String, expected: Duration) {
        #expect(DurationSyntax.parse(text) == expected)
    }

    @Test(arguments: [
        "", "30", "1.5", "s", ".s", "-1s", "+1s", "1 s", "1S", "1sec", "1d", "1.2.3s", "1e3ms", "ms250",
        "99999999999999999999h", "3000000h", "nan", "∞s",
    ])
    func invalid(text: String) {
        #expect(DurationSyntax.parse(text) == nil)
    }

    /// Through the parser: the key path and the expectation of the brief.
    @Test func bareNumberInAFile() throws {
        let error = try #require(parseError("defaults:\n  retry:\n    min_attempt_time: 5\n"))
        #expect(
            error.description
                == "levee.yaml:3: defaults.retry.min_attempt_time: expected a duration such as 250ms or 2s, got 5"
        )
    }

    @Test func quotedDurationIsADuration() throws {
        let configuration = try parse("defaults:\n  timeouts: { connect: \"300ms\" }\n")
        #expect(configuration.defaults.policy.timeouts.connect == .milliseconds(300))
    }
}
