import LeveeConfiguration
import LeveePolicy
import Testing

@Suite("hedge")
struct HedgeConfigurationTests {
    @Test func absentMeansNoHedging() throws {
        let configuration = try parse(minimalUpstream)
        let payments = try #require(configuration.upstream(named: "payments"))
        #expect(payments.policy.hedge == nil)
    }

    @Test(arguments: [
        ("hedge: { delay: 50ms, max: 1 }", HedgeConfiguration(delay: .fixed(.milliseconds(50)), max: 1)),
        ("hedge: { delay: p95 }", HedgeConfiguration(delay: .p95, max: 1)),
        ("hedge: { delay: P95, max: 3 }", HedgeConfiguration(delay: .p95, max: 3)),
        ("hedge: {}", HedgeConfiguration()),
    ])
    func keysAreRead(line: String, expected: HedgeConfiguration) throws {
        let configuration = try parse(minimalUpstream + "\n    \(line)\n")
        let payments = try #require(configuration.upstream(named: "payments"))
        #expect(payments.policy.hedge == expected)
    }

    @Test(arguments: [
        ("hedge: { delay: 50 }", "upstreams.payments.hedge.delay", "a duration such as 50ms, or p95"),
        ("hedge: { delay: p99 }", "upstreams.payments.hedge.delay", "a duration such as 50ms, or p95"),
        ("hedge: { delay: 0ms }", "upstreams.payments.hedge.delay", "a duration from 1ns to 60s, or p95"),
        ("hedge: { max: 0 }", "upstreams.payments.hedge.max", "an integer from 1 to 4"),
        ("hedge: { max: 9 }", "upstreams.payments.hedge.max", "an integer from 1 to 4"),
        ("hedge: { after: 5ms }", "upstreams.payments.hedge.after", "one of the keys delay, max"),
    ])
    func badValuesNameTheFileTheKeyAndWhatWasExpected(line: String, keyPath: String, expected: String) throws {
        let error = try #require(loadError(minimalUpstream + "\n    \(line)\n"))
        #expect(error.keyPath == keyPath)
        #expect(error.expected.hasPrefix(expected))
        #expect(error.line == 4)
        #expect(error.description.contains(error.file))
    }
}
