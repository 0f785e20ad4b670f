import LeveePolicy
import Testing

/// The service level the `degradation` rules give for each set of upstreams down.
@Suite struct DegradationRulesTests {
    static let rules = DegradationRules(
        degraded: [["recommendations"], ["reviews"]],
        minimal: [["payments", "inventory"]]
    )

    @Test(
        "the worst level whose rules all hold, with one reason per holding rule",
        arguments: [
            ([], ServiceLevel.full, []),
            (["recommendations"], .degraded, ["degraded: recommendations breaker open"]),
            (
                ["recommendations", "reviews"], .degraded,
                ["degraded: recommendations breaker open", "degraded: reviews breaker open"]
            ),
            (["payments"], .full, []),
            (["payments", "inventory"], .minimal, ["minimal: payments and inventory breakers open"]),
            (["payments", "inventory", "reviews"], .minimal, ["minimal: payments and inventory breakers open"]),
            (["unrelated"], .full, []),
        ] as [([String], ServiceLevel, [String])]
    )
    func evaluate(down: [String], level: ServiceLevel, reasons: [String]) {
        let verdict = Self.rules.evaluate { down.contains($0) }
        #expect(verdict.level == level)
        #expect(verdict.reasons == reasons)
    }

    @Test("implicit rules: any one upstream down degrades, all of them down is minimal; none configured is full")
    func implicit() {
        let rules = DegradationRules.implicit(upstreams: ["a", "b", "c"])
        #expect(
            rules.evaluate { $0 == "b" } == ServiceLevelVerdict(level: .degraded, reasons: ["degraded: b breaker open"])
        )
        #expect(rules.evaluate { _ in true }.reasons == ["minimal: a, b and c breakers open"])
        #expect(DegradationRules.implicit(upstreams: []).evaluate { _ in true } == .full)
    }

    @Test("levels are ordered and map to the gossip health tag")
    func ordering() {
        #expect(ServiceLevel.full < .degraded && ServiceLevel.degraded < .minimal)
        #expect(ServiceLevel.allCases.map(\.healthTag) == ["passing", "degraded", "critical"])
    }
}
