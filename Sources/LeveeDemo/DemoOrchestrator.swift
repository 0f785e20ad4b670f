import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Runs one run of the demo: starts Payments, Inventory, (the agent,) Orders and the load generator
/// as processes of this same binary, makes Payments sick and heals it on time, samples Orders' pool
/// and the agent while the load runs, and returns everything measured.
struct DemoOrchestrator: Sendable {
    var settings: DemoSettings
    /// The `levee` binary: every role runs as `levee demo serve …`, `levee demo load …`, `levee agent`.
    var executable: String
    var children: DemoChildren
    var client: HTTPClient
    var progress: @Sendable (String) -> Void

    private var directory: URL { children.directory }

    func run(_ mode: DemoMode) async throws -> RunRecord {
        defer { children.stopAll() }
        let ports = try FreePort.pick(5)
        let (paymentsPort, inventoryPort, ordersPort, proxyPort, metricsPort) =
            (ports[0], ports[1], ports[2], ports[3], ports[4])
        let name = mode.rawValue
        progress("\(name) run: starting Payments, Inventory\(mode == .protected ? ", the agent" : ""), Orders")
        let payments = try children.start(
            "\(name)-payments",
            executable,
            ["demo", "serve", "payments", "--port", "\(paymentsPort)", "--sick-latency", "\(settings.sickLatency)"]
        )
        let inventory = try children.start(
            "\(name)-inventory",
            executable,
            ["demo", "serve", "inventory", "--port", "\(inventoryPort)"]
        )
        var ordersArguments = [
            "demo", "serve", "orders", "--port", "\(ordersPort)", "--workers", "\(settings.workers)",
            "--queue", "\(settings.queueLimit)", "--queue-timeout", "\(settings.queueTimeout)",
        ]
        var agent: DemoChildren.Child?
        if mode == .protected {
            let configuration = directory.appendingPathComponent("levee.yaml")
            try DemoAgentConfiguration.yaml(
                settings: settings,
                directory: directory.path,
                payments: "127.0.0.1:\(paymentsPort)",
                inventory: "127.0.0.1:\(inventoryPort)",
                proxy: "127.0.0.1:\(proxyPort)",
                metrics: "127.0.0.1:\(metricsPort)"
            ).write(to: configuration, atomically: true, encoding: .utf8)
            agent = try children.start("agent", executable, ["agent", "--config", configuration.path])
            ordersArguments += ["--via-agent", "127.0.0.1:\(proxyPort)"]
        } else {
            ordersArguments += ["--inventory", "127.0.0.1:\(inventoryPort)", "--payments", "127.0.0.1:\(paymentsPort)"]
        }
        let orders = try children.start("\(name)-orders", executable, ordersArguments)
        try await waitUntilAnswering("http://127.0.0.1:\(paymentsPort)/health", payments)
        try await waitUntilAnswering("http://127.0.0.1:\(inventoryPort)/health", inventory)
        if let agent { try await waitUntilAnswering("http://127.0.0.1:\(metricsPort)/readyz", agent) }
        try await waitUntilAnswering("http://127.0.0.1:\(ordersPort)/health", orders)
        try await warmUp("127.0.0.1:\(ordersPort)")

        // The load generator starts on its own clock reading of the run's start, shared with the samplers.
        let start = DemoClock.now() + 500_000_000
        let samplesFile = directory.appendingPathComponent("\(name)-samples.json")
        progress("\(name) run: load on the order and Inventory pages for \(Format.seconds(settings.duration))")
        let load = try children.start(
            "\(name)-load",
            executable,
            [
                "demo", "load", "--target", "127.0.0.1:\(ordersPort)", "--order-rate", "\(settings.orderRate)",
                "--inventory-rate", "\(settings.inventoryRate)", "--start", "\(start)",
                "--duration", "\(settings.duration)", "--timeout", "\(settings.clientTimeout)",
                "--output", samplesFile.path,
            ]
        )
        let end = start + UInt64(settings.duration * 1e9)
        async let ordersStats = sampleOrders("127.0.0.1:\(ordersPort)", start: start, end: end)
        async let agentStats =
            mode == .protected ? sampleAgent("127.0.0.1:\(metricsPort)", start: start, end: end) : []

        try await DemoClock.sleep(until: start + UInt64(settings.before * 1e9))
        try await control(payments: paymentsPort, "sick")
        let sickAt = DemoClock.seconds(since: start)
        progress(String(format: "\(name) run: t=%.1fs Payments is sick", sickAt))
        try await DemoClock.sleep(until: start + UInt64((settings.before + settings.incident) * 1e9))
        try await control(payments: paymentsPort, "healthy")
        let healAt = DemoClock.seconds(since: start)
        progress(String(format: "\(name) run: t=%.1fs Payments is healed", healAt))

        let status = await load.waitForExit()
        guard status == 0 else {
            throw DemoError("the load generator failed (status \(status)):\n\(load.logTail)")
        }
        let samples = try JSONDecoder().decode([Sample].self, from: Data(contentsOf: samplesFile))
        return try await RunRecord(
            mode: mode,
            settings: settings,
            sickAt: sickAt,
            healAt: healAt,
            end: settings.duration,
            samples: samples,
            orders: ordersStats,
            agent: agentStats
        )
    }

    /// Polls `url` until it answers 200: a bounded wait (15 s), failing early if the child has died.
    private func waitUntilAnswering(_ url: String, _ child: DemoChildren.Child) async throws {
        let deadline = DemoClock.now() + 15_000_000_000
        while DemoClock.now() < deadline {
            guard child.process.isRunning else {
                throw DemoError("\(child.name) exited at start:\n\(child.logTail)")
            }
            if let answer = try? await get(url, timeout: .seconds(1)), answer.status == 200 { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw DemoError("\(child.name) did not answer \(url) within 15 s:\n\(child.logTail)")
    }

    /// A few pages of each kind before the clock starts: connections opened, the breaker's window filled.
    private func warmUp(_ orders: String) async throws {
        for _ in 0..<20 {
            for page in Sample.Page.allCases {
                let answer = try await get("http://\(orders)/\(page.rawValue)", timeout: .seconds(2))
                guard answer.status == 200 else {
                    throw DemoError("Orders' /\(page.rawValue) answered \(answer.status): \(answer.body)")
                }
            }
        }
    }

    private func control(payments port: Int, _ state: String) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/control/\(state)")
        request.method = .POST
        let response = try await client.execute(request, timeout: .seconds(2))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok else { throw DemoError("Payments refused to turn \(state): \(response.status)") }
    }

    private func sampleOrders(_ orders: String, start: UInt64, end: UInt64) async throws -> [OrdersStat] {
        struct Stats: Decodable {
            var workers: Int
            var busy: Int
            var onPayments: Int
            var queued: Int

            enum CodingKeys: String, CodingKey {
                case workers, busy, queued
                case onPayments = "on_payments"
            }
        }
        var stats: [OrdersStat] = []
        try await every(settings.sampleInterval, until: end) {
            let t = DemoClock.seconds(since: start)
            guard let answer = try? await get("http://\(orders)/stats", timeout: .seconds(1)), answer.status == 200,
                let read = try? JSONDecoder().decode(Stats.self, from: Data(answer.body.utf8))
            else { return }
            stats.append(
                OrdersStat(
                    t: t,
                    workers: read.workers,
                    busy: read.busy,
                    onPayments: read.onPayments,
                    queued: read.queued
                )
            )
        }
        return stats
    }

    private func sampleAgent(_ metrics: String, start: UInt64, end: UInt64) async throws -> [AgentStat] {
        var stats: [AgentStat] = []
        try await every(settings.agentSampleInterval, until: end) {
            let t = DemoClock.seconds(since: start)
            guard let answer = try? await get("http://\(metrics)/metrics", timeout: .seconds(1)),
                answer.status == 200, let stat = AgentMetrics.stat(answer.body, upstream: "payments", t: t)
            else { return }
            stats.append(stat)
        }
        return stats
    }

    private func every(_ interval: Double, until end: UInt64, _ body: () async throws -> Void) async throws {
        var next = DemoClock.now()
        while next < end {
            try await body()
            next += UInt64(interval * 1e9)
            try await DemoClock.sleep(until: next)
        }
    }

    private func get(_ url: String, timeout: TimeAmount) async throws -> (status: Int, body: String) {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: timeout)
        let body = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), String(buffer: body))
    }
}

/// The agent's configuration in the protected run: the chapter's patterns on Payments, a plain
/// guarded Inventory, and degradation rules.
enum DemoAgentConfiguration {
    static func yaml(
        settings: DemoSettings,
        directory: String,
        payments: String,
        inventory: String,
        proxy: String,
        metrics: String
    ) -> String {
        let openFor = "\(Int(settings.openFor * 1000))ms"
        return """
            # levee demo: the agent beside Orders in the protected run.
            service: orders
            listen:
              socket: \(directory)/levee.sock
              admin_socket: \(directory)/admin.sock
              http: \(metrics)
              proxy: \(proxy)
            upstreams:
              payments:
                endpoints: ["\(payments)"]
                timeouts: { connect: 100ms, attempt: 300ms, total: 300ms }   # never 10 s
                retry: { max_attempts: 1 }
                breaker:
                  window: { kind: count, size: 20 }
                  min_calls: 10
                  failure_rate: 50
                  open_for: \(openFor)
                  open_for_max: \(openFor)
                  half_open_calls: 1
                bulkhead: { max_concurrent: 4, max_queue: 0 }   # Payments never holds more than 4 of Orders' workers
                fallback:
                  static: { status: 200, headers: { content-type: application/json }, body: '{"status":"payment pending"}' }
              inventory:
                endpoints: ["\(inventory)"]
                timeouts: { connect: 100ms, attempt: 300ms, total: 300ms }
                retry: { max_attempts: 1 }
                breaker:
                  window: { kind: count, size: 20 }
                  min_calls: 10
                  failure_rate: 50
                  open_for: \(openFor)
                bulkhead: { max_concurrent: \(settings.workers), max_queue: 0 }
            degradation:
              degraded:
                - open: [payments]
              minimal:
                - open: [payments, inventory]

            """
    }
}
