import Foundation
import LeveeAPI
import LeveeAgent
import LeveeTestKit
import Testing
import Yams

/// `deploy/grafana/levee.json` and `deploy/prometheus/alerts.yml` load, and every metric they name is
/// one a real agent exports.
@Suite(.timeLimit(.minutes(2)))
struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every PromQL expression of the dashboard: panel targets and template variable queries.
    static func dashboardExpressions() throws -> [String] {
        let data = try Data(contentsOf: root.appending(path: "deploy/grafana/levee.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(dashboard["title"] as? String == "Levee")
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        var expressions = panels.flatMap { panel in
            (panel["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        let templating = dashboard["templating"] as? [String: Any]
        let variables = templating?["list"] as? [[String: Any]] ?? []
        #expect(variables.contains { $0["name"] as? String == "upstream" })
        expressions += variables.compactMap { $0["definition"] as? String }
        return expressions
    }

    /// Every rule's expression, with the alert names.
    static func alertExpressions() throws -> [String: String] {
        let text = try String(contentsOf: root.appending(path: "deploy/prometheus/alerts.yml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let groups = try #require(document["groups"] as? [[String: Any]])
        var rules: [String: String] = [:]
        for group in groups {
            for rule in group["rules"] as? [[String: Any]] ?? [] {
                if let name = rule["alert"] as? String, let expression = rule["expr"] as? String {
                    rules[name] = expression
                }
            }
        }
        return rules
    }

    /// The `levee_*` names in `expression`.
    static func metricNames(in expression: String) -> Set<String> {
        Set(expression.matches(of: /levee_[a-z0-9_]+/).map { String($0.output) })
    }

    @Test("The dashboard and the alerts load, and name only metrics a real agent exports")
    func everyMetricNamedIsExported() async throws {
        let dashboard = try Self.dashboardExpressions()
        #expect(dashboard.count >= 10)
        let alerts = try Self.alertExpressions()
        #expect(
            Set(alerts.keys) == ["LeveeBreakerOpenTooLong", "LeveeRetryBudgetExhausted", "LeveeGossipMembersFailed"]
        )
        let named = (dashboard + alerts.values).reduce(into: Set<String>()) { $0.formUnion(Self.metricNames(in: $1)) }
        #expect(named.contains("levee_breaker_open"))
        #expect(named.contains("levee_gossip_members"))

        let good = try await TestHTTPServer.start()
        good.behaviour = .respond(status: 200, body: "ok")
        let bad = try await TestHTTPServer.start()
        bad.behaviour = .respond(status: 500, body: "boom")
        let families = try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  payments: { endpoints: ["\(good.address)"] }
                  orders:
                    endpoints: ["\(bad.address)"]
                    retry: { max_attempts: 2, backoff: { base: 1ms, max: 2ms } }
                gossip:
                  name: deploy-check
                  bind: 127.0.0.1:0
                """
        ) { agent in
            for _ in 0..<3 {
                _ = try await agent.call("payments")
                _ = try await agent.call("orders")
            }
            let address = try #require(agent.agent.httpAddress)
            return try await PrometheusText.scrape(address).1.types
        }
        try await good.stop()
        try await bad.stop()

        for name in named.sorted() {
            var family = name
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if families[base] == "histogram" { family = base }
            }
            #expect(families[family] != nil, "\(name) is named in deploy/ but the agent does not export it")
        }
    }
}
