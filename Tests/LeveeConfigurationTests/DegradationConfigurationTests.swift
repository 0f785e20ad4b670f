import LeveeConfiguration
import LeveePolicy
import Testing

@Suite("degradation rules")
struct DegradationConfigurationTests {
    @Test("degradation: { degraded, minimal } lists rules of upstreams that must all be open")
    func parsesRules() throws {
        let configuration = try parse(
            """
            upstreams:
              recommendations: { endpoints: ["127.0.0.1:1"] }
              payments: { endpoints: ["127.0.0.1:2"] }
              inventory: { endpoints: ["127.0.0.1:3"] }
            degradation:
              degraded:
                - open: [recommendations]
              minimal:
                - open: [payments, inventory]
            """
        )
        let rules = DegradationRules(degraded: [["recommendations"]], minimal: [["payments", "inventory"]])
        #expect(configuration.degradation == rules)
        #expect(configuration.degradationRules == rules)
    }

    @Test("without a degradation section the rules are implicit over the configured upstreams")
    func implicitRules() throws {
        let configuration = try parse(minimalUpstream)
        #expect(configuration.degradation == nil)
        #expect(configuration.degradationRules == .implicit(upstreams: ["payments"]))
        #expect(try parse(minimalUpstream + "\ndegradation: {}\n").degradationRules == DegradationRules())
    }
}
