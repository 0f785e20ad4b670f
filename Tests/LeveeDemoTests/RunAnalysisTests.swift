import Foundation
import Testing

@testable import LeveeDemo

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The demo's analysis on synthetic runs: the figures, the breaker, the story and the chart come from
/// the samples alone.
@Suite
struct RunAnalysisTests {
    /// A run shaped like the demo's: Payments sick from 3 s to 9 s, 20 s in all.
    static func run(
        _ mode: DemoMode,
        samples: [Sample],
        orders: [OrdersStat] = [],
        agent: [AgentStat] = []
    ) -> RunRecord {
        RunRecord(
            mode: mode,
            settings: .quick,
            sickAt: 3,
            healAt: 9,
            end: 20,
            samples: samples,
            orders: orders,
            agent: agent
        )
    }

    static func inventory(_ t: Double, ms: Double = 2, status: Int = 200) -> Sample {
        Sample(page: .inventory, sentAt: t, latencyMs: ms, status: status, payment: nil)
    }

    static func order(_ t: Double, ms: Double = 3, status: Int = 200, payment: PaymentCall? = nil) -> Sample {
        Sample(page: .order, sentAt: t, latencyMs: ms, status: status, payment: payment)
    }

    @Test("the p99 is the nearest rank: the smallest value with 99 % of the values at or below it")
    func percentileIsTheNearestRank() {
        let values = (1...200).map(Double.init)
        #expect(percentile(99, of: values) == 198)
        #expect(percentile(50, of: [3, 1, 2]) == 2)
        #expect(percentile(99, of: [5]) == 5)
        #expect(percentile(99, of: []) == nil)
    }

    @Test("each phase counts the requests sent in it: success % and p99 per page, the pool's saturation")
    func phasesSplitAtSicknessAndHealing() {
        var samples = (0..<30).map { Self.inventory(Double($0) * 0.1, ms: 2) }  // before: 0 … 2.9 s
        for index in 0..<60 {  // during: 3 … 8.9 s, three in four fail
            let sentAt = 3 + Double(index) * 0.1
            let succeeds = index % 4 == 0
            samples.append(Self.inventory(sentAt, ms: succeeds ? 2 : 2000, status: succeeds ? 200 : 0))
        }
        samples += (0..<10).map { Self.inventory(9 + Double($0), ms: 3) }
        let orders = [
            OrdersStat(t: 1, workers: 16, busy: 2, onPayments: 1, queued: 0),
            OrdersStat(t: 4, workers: 16, busy: 16, onPayments: 16, queued: 32),
            OrdersStat(t: 5, workers: 16, busy: 16, onPayments: 16, queued: 32),
            OrdersStat(t: 10, workers: 16, busy: 3, onPayments: 0, queued: 0),
        ]
        let figures = RunFigures(Self.run(.unprotected, samples: samples, orders: orders))

        #expect(figures.before.inventory.requests == 30)
        #expect(figures.before.inventory.successPercent == 100)
        #expect(figures.before.inventory.p99Ms == 2)
        #expect(figures.during.inventory.requests == 60)
        #expect(figures.during.inventory.successPercent == 25)
        #expect(figures.during.inventory.p99Ms == 2000)
        #expect(figures.after.inventory.successPercent == 100)
        #expect(figures.during.workersBusyMax == 16 && figures.during.workersOnPaymentsMax == 16)
        #expect(figures.during.saturatedPercent == 100)
        #expect(figures.before.saturatedPercent == 0)
        #expect(figures.during.level == nil)
        #expect(figures.breaker == nil)
    }

    @Test("the breaker's figures: when it opened and after how many failures, when and how it closed")
    func breakerFiguresComeFromTheAgentSamples() throws {
        let timeout = PaymentCall(result: "fallback", outcome: "timeout", ms: 300)
        let refused = PaymentCall(result: "fallback", outcome: "circuit_open", ms: 0.4)
        let fine = PaymentCall(result: "ok", outcome: "ok", ms: 1)
        var samples = (0..<10).map { Self.order(Double($0) * 0.2, payment: fine) }
        samples += (0..<10).map { Self.order(3 + Double($0) * 0.05, payment: timeout) }  // 3.0 … 3.45 s
        samples += (0..<100).map { Self.order(3.6 + Double($0) * 0.05, payment: refused) }  // 3.6 … 8.55 s
        samples += (0..<20).map { Self.order(9 + Double($0) * 0.5, payment: fine) }
        let agent = [
            AgentStat(t: 2.9, breaker: "closed", level: "full"),
            AgentStat(t: 3.5, breaker: "open", level: "degraded"),
            AgentStat(t: 5.6, breaker: "half_open", level: "degraded"),
            AgentStat(t: 5.9, breaker: "open", level: "degraded"),
            AgentStat(t: 10.5, breaker: "open", level: "degraded"),
            AgentStat(t: 11.0, breaker: "closed", level: "full"),
        ]
        let figures = RunFigures(Self.run(.protected, samples: samples, agent: agent))
        let breaker = try #require(figures.breaker)

        #expect(breaker.openedAt == 3.5)
        #expect(breaker.failuresBeforeOpen == 10)
        #expect(breaker.closedAt == 11.0)
        #expect(abs((breaker.closedAfterHealSeconds ?? 0) - 2.0) < 1e-9)
        #expect(breaker.closedByProbe)
        #expect(breaker.halfOpenSeen)
        #expect(breaker.transitions.map(\.to) == ["open", "half_open", "open", "closed"])
        let fallback = try #require(figures.fallbackWhileOpen)
        #expect(fallback.calls == 100)
        #expect(fallback.byFallback == 100)
        #expect(fallback.refusedByBreaker == 100)
        #expect(fallback.refusedP99Ms == 0.4)
        #expect(figures.during.level == "degraded")
        #expect(figures.after.level == "degraded")
        #expect(figures.before.level == "full")
        #expect(figures.during.paymentsByFallback == 110)
    }

    @Test("the story tells the cascade with the measured times and counts, in time order")
    func unprotectedStoryTellsTheCascade() {
        var samples = (0..<30).map { Self.inventory(Double($0) * 0.1) }
        samples.append(Self.inventory(3.45, status: 503))
        samples.append(Self.inventory(3.55, status: 0))
        samples.append(Self.inventory(19.2))
        samples.append(Self.order(3.1, ms: 2000, status: 0))
        let orders = [
            OrdersStat(t: 3.2, workers: 16, busy: 9, onPayments: 8, queued: 0),
            OrdersStat(t: 3.4, workers: 16, busy: 16, onPayments: 16, queued: 4),
            OrdersStat(t: 8.9, workers: 16, busy: 16, onPayments: 16, queued: 32),
            OrdersStat(t: 18.7, workers: 16, busy: 1, onPayments: 0, queued: 0),
        ]
        let story = RunFigures(Self.run(.unprotected, samples: samples, orders: orders)).story
        let lines = story.map { "\(Format.time($0.t)) \($0.text)" }

        #expect(story.map(\.t) == story.map(\.t).sorted())
        #expect(lines.contains { $0.hasPrefix("t=3.0s Payments turns sick") })
        #expect(
            lines.contains("t=3.4s 16 of 16 workers are waiting on Payments: Orders has no worker left for any page")
        )
        #expect(lines.contains { $0.hasPrefix("t=3.5s the Inventory page starts failing (Orders answers 503") })
        #expect(lines.contains { $0.hasPrefix("t=3.1s the order page starts failing (no answer") })
        #expect(lines.contains { $0.hasPrefix("t=9.0s Payments heals") })
        #expect(lines.contains { $0.hasPrefix("t=18.7s the last of the 16 workers held by Payments is free") })
        #expect(lines.contains { $0.hasPrefix("t=19.2s the Inventory page answers again") })
        #expect(lines.contains { $0.contains("the Inventory page is dragged down by Payments") })
        #expect(!lines.contains { $0.contains("breaker") })
    }

    @Test("the protected story: the bulkhead's bound, the breaker, the level, the unaffected Inventory page")
    func protectedStoryTellsTheIsolation() {
        let refused = PaymentCall(result: "fallback", outcome: "circuit_open", ms: 0.5)
        let timeout = PaymentCall(result: "fallback", outcome: "timeout", ms: 300)
        var samples = (0..<60).map { Self.inventory(Double($0) * 0.3, ms: 2) }
        samples += (0..<10).map { Self.order(3 + Double($0) * 0.05, payment: timeout) }
        samples += (0..<10).map { Self.order(4 + Double($0) * 0.05, payment: refused) }
        let orders = [OrdersStat(t: 3.3, workers: 16, busy: 6, onPayments: 4, queued: 0)]
        let agent = [
            AgentStat(t: 2.9, breaker: "closed", level: "full"),
            AgentStat(t: 3.6, breaker: "open", level: "degraded"),
            AgentStat(t: 5.6, breaker: "half_open", level: "degraded"),
            AgentStat(t: 5.9, breaker: "open", level: "degraded"),
            AgentStat(t: 7.9, breaker: "half_open", level: "degraded"),
            AgentStat(t: 8.2, breaker: "open", level: "degraded"),
            AgentStat(t: 10.1, breaker: "closed", level: "full"),
        ]
        let lines = RunFigures(Self.run(.protected, samples: samples, orders: orders, agent: agent)).story
            .map { "\(Format.time($0.t)) \($0.text)" }

        #expect(lines.contains("t=3.3s at most 4 of 16 workers wait on Payments at once; 12 stay free"))
        #expect(
            lines.contains { $0.hasPrefix("t=3.6s the payments breaker is open (10 calls to Payments failed before)") }
        )
        #expect(lines.contains { $0.contains("(p99 0.5 ms over 10 calls)") })
        #expect(lines.contains { $0.hasPrefix("t=3.6s the service level goes DEGRADED") })
        #expect(lines.contains { $0.hasPrefix("t=10.1s a probe succeeds: the payments breaker closes, 1.1 s after") })
        #expect(lines.contains { $0.hasPrefix("t=10.1s the service level goes FULL") })
        #expect(lines.contains { $0.contains("the Inventory page is unaffected: 100 % success, p99 2.0 ms") })
        #expect(!lines.contains { $0.contains("starts failing") })
        #expect(lines.contains("t=5.6s the payments breaker goes half-open and lets one probe through to Payments"))
        #expect(lines.contains("t=5.9s the probe failed: the payments breaker opens again for 2 s"))
        #expect(lines.filter { $0.contains("half-open") }.count == 1)
        #expect(
            lines.contains(
                "t=8.2s 1 more probe failed, one every 2.3 s: the breaker keeps Payments' sickness away from Orders"
            )
        )
    }

    @Test("the agent's metrics give the payments breaker and the service level")
    func agentMetricsAreRead() {
        let text = """
            # TYPE levee_breaker_state gauge
            levee_breaker_state{upstream="inventory"} 0
            levee_breaker_state{upstream="payments"} 2
            # TYPE levee_service_level gauge
            levee_service_level 2
            """
        #expect(
            AgentMetrics.stat(text, upstream: "payments", t: 1)
                == AgentStat(t: 1, breaker: "half_open", level: "degraded")
        )
        #expect(AgentMetrics.stat("levee_service_level 1", upstream: "payments", t: 1) == nil)
    }

    @Test("the load generator's schedule interleaves both pages at their rates")
    func loadScheduleFollowsTheRates() {
        let generator = LoadGenerator(
            target: "127.0.0.1:1",
            orderRate: 40,
            inventoryRate: 20,
            start: 0,
            duration: 2,
            timeout: 2
        )
        let schedule = generator.schedule()
        #expect(schedule.filter { $0.1 == .order }.count == 80)
        #expect(schedule.filter { $0.1 == .inventory }.count == 40)
        #expect(schedule.map(\.0) == schedule.map(\.0).sorted())
        #expect(schedule.allSatisfy { $0.0 >= 0 && $0.0 < 2 })
    }

    @Test("the table sets both runs side by side, and the chart is well-formed SVG")
    func tableAndChart() throws {
        let samples = (0..<200).map { Self.inventory(Double($0) * 0.1, ms: $0 % 7 == 0 ? 900 : 2) }
        let unprotected = RunFigures(Self.run(.unprotected, samples: samples))
        let protected = RunFigures(Self.run(.protected, samples: samples))
        let table = DemoTable.render(unprotected: unprotected, protected: protected)
        let rows = table.split(separator: "\n")
        #expect(rows.first?.contains("unprotected") == true && rows.first?.contains("protected") == true)
        #expect(rows.contains { $0.hasPrefix("Inventory page: success") })
        #expect(rows.contains { $0.hasPrefix("Payments answered by fallback") })
        #expect(Set(rows.map(\.count)).count <= 2, "\(table)")

        let svg = DemoChart.render(unprotected: unprotected, protected: protected)
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(svg.contains("<polyline"))
        #expect(svg.contains("Payments sick"))
    }
}
