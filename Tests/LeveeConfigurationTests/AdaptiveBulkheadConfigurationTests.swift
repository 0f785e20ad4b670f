import LeveeConfiguration
import LeveePolicy
import Testing

@Suite("bulkhead.adaptive")
struct AdaptiveBulkheadConfigurationTests {
    private static func bulkhead(_ section: String) throws -> BulkheadConfiguration {
        let configuration = try parse(minimalUpstream + "\n    bulkhead: " + section + "\n")
        return try #require(configuration.upstreams.first { $0.name == "payments" }).policy.bulkhead
    }

    @Test func theIssuesExampleDecodes() throws {
        let bulkhead = try Self.bulkhead("{ adaptive: { algorithm: aimd, min: 4, max: 512 } }")
        #expect(bulkhead.adaptive == AdaptiveLimitConfiguration(algorithm: .aimd, min: 4, max: 512))
    }

    @Test func everyKeyDecodesAndUnsetOnesTakeTheDefaults() throws {
        #expect(try Self.bulkhead("{ max_concurrent: 32 }").adaptive == nil)
        #expect(try Self.bulkhead("{ adaptive: {} }").adaptive == .defaults)
        let full = try Self.bulkhead(
            "{ adaptive: { algorithm: gradient2, min: 8, max: 100, initial: 16, tolerance: 2, smoothing: 0.5, "
                + "timeout: 40ms, backoff_ratio: 0.75, probe_interval: 2m } }"
        )
        #expect(
            full.adaptive
                == AdaptiveLimitConfiguration(
                    algorithm: .gradient2,
                    min: 8,
                    max: 100,
                    initial: 16,
                    tolerance: 2,
                    smoothing: 0.5,
                    timeout: .milliseconds(40),
                    backoffRatio: 0.75,
                    probeInterval: .seconds(120)
                )
        )
        #expect(AdaptiveLimitConfiguration.defaults.probeInterval == .seconds(30))
        #expect(try Self.bulkhead("{ adaptive: { probe_interval: off } }").adaptive?.probeInterval == nil)
        // A `max` below the default `min`, or a `min` above the default `max`, moves the unset one.
        #expect(try Self.bulkhead("{ adaptive: { max: 2 } }").adaptive?.min == 2)
        #expect(try Self.bulkhead("{ adaptive: { min: 600 } }").adaptive?.max == 600)
    }

    @Test(arguments: [
        ("{ adaptive: { algorithm: vegas } }", "upstreams.payments.bulkhead.adaptive.algorithm", "gradient2"),
        ("{ adaptive: { min: 0 } }", "upstreams.payments.bulkhead.adaptive.min", "an integer ≥ 1"),
        ("{ adaptive: { min: 10, max: 5 } }", "upstreams.payments.bulkhead.adaptive.max", "between min (10)"),
        ("{ adaptive: { initial: 2 } }", "upstreams.payments.bulkhead.adaptive.initial", "between min (4)"),
        ("{ adaptive: { backoff_ratio: 1 } }", "upstreams.payments.bulkhead.adaptive.backoff_ratio", "[0.5, 1)"),
        ("{ adaptive: { smoothing: 0 } }", "upstreams.payments.bulkhead.adaptive.smoothing", "(0, 1]"),
        ("{ adaptive: { timeout: 0s } }", "upstreams.payments.bulkhead.adaptive.timeout", "a duration > 0"),
        ("{ adaptive: { probe_interval: 500ms } }", "upstreams.payments.bulkhead.adaptive.probe_interval", "≥ 1s"),
        ("{ adaptive: { probe_interval: never } }", "upstreams.payments.bulkhead.adaptive.probe_interval", "or off"),
        ("{ adaptive: { mn: 4 } }", "upstreams.payments.bulkhead.adaptive.mn", "one of the keys algorithm, min"),
    ])
    func badValuesNameTheirKeyPath(section: String, keyPath: String, expected: String) throws {
        let error = try #require(parseError(minimalUpstream + "\n    bulkhead: " + section + "\n"))
        #expect(error.keyPath == keyPath)
        #expect(error.expected.contains(expected), "\(error)")
        #expect(error.file == "levee.yaml")
    }
}
