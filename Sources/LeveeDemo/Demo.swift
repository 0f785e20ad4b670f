import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// `levee demo`: the chapter's Explain-It scenario, run on this machine and told from what it measured.
public enum Demo {
    /// How `levee demo` was asked to run.
    public struct Options: Sendable {
        public var quick: Bool
        /// Where to write the SVG chart.
        public var chartPath: String
        /// Print the measured figures as JSON instead of the story and the table.
        public var json: Bool
        /// The `levee` binary to start the roles from (this one).
        public var executable: String

        public init(quick: Bool, chartPath: String, json: Bool, executable: String) {
            self.quick = quick
            self.chartPath = chartPath
            self.json = json
            self.executable = executable
        }
    }

    /// Runs both runs, writes the chart and returns what to print. Every child process is stopped and
    /// the demo's temporary folder removed when it returns or throws, and when its task is cancelled
    /// (SIGINT).
    public static func run(_ options: Options, progress: @escaping @Sendable (String) -> Void) async throws -> String {
        let settings = options.quick ? DemoSettings.quick : DemoSettings.full
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("levee-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let children = DemoChildren(directory: directory)
        // LEVEE_DEMO_KEEP=1 keeps the folder (each process's log, the samples, the agent's configuration).
        let keep = ProcessInfo.processInfo.environment["LEVEE_DEMO_KEEP"] == "1"
        if keep { progress("keeping the logs and samples in \(directory.path)") }
        defer {
            children.stopAll()
            if !keep { try? FileManager.default.removeItem(at: directory) }
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let orchestrator = DemoOrchestrator(
                settings: settings,
                executable: options.executable,
                children: children,
                client: client,
                progress: progress
            )
            let unprotected = RunFigures(try await orchestrator.run(.unprotected))
            let protected = RunFigures(try await orchestrator.run(.protected))
            try? await client.shutdown()
            let report = DemoReport(
                quick: options.quick,
                chart: options.chartPath,
                settings: settings,
                unprotected: unprotected,
                protected: protected
            )
            try DemoChart.render(unprotected: unprotected, protected: protected)
                .write(toFile: options.chartPath, atomically: true, encoding: .utf8)
            if options.json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                return String(decoding: try encoder.encode(report), as: UTF8.self)
            }
            return report.text
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// The demo's roles, each run as its own process by `levee demo serve …` and `levee demo load …`.
public enum DemoRole {
    /// Payments on `127.0.0.1:port`; sick, it waits `sickLatency` seconds before its 500.
    public static func servePayments(port: Int, sickLatency: Double) async throws {
        let payments = PaymentsServer(sickLatency: sickLatency)
        try await serveWhileParentLives(port: port) { await payments.handle($0) }
    }

    /// Inventory on `127.0.0.1:port`.
    public static func serveInventory(port: Int) async throws {
        try await serveWhileParentLives(port: port) { await InventoryServer.handle($0) }
    }

    /// Orders on `127.0.0.1:port` with `workers` workers and a queue of `queueLimit`; through the agent's
    /// proxy listener at `agentProxy` when given, else straight to `inventory` and `payments`.
    public static func serveOrders(
        port: Int,
        workers: Int,
        queueLimit: Int,
        queueTimeout: Double,
        inventory: String?,
        payments: String?,
        agentProxy: String?
    ) async throws {
        let route: OrdersServer.Route
        if let agentProxy {
            route = .agent(proxy: agentProxy)
        } else if let inventory, let payments {
            route = .direct(inventory: inventory, payments: payments)
        } else {
            throw DemoError("orders: give --via-agent HOST:PORT, or both --inventory and --payments HOST:PORT")
        }
        let pool = WorkerPool(
            workers: workers,
            queueLimit: queueLimit,
            queueTimeout: .nanoseconds(Int64(queueTimeout * 1e9))
        )
        let orders = OrdersServer(pool: pool, route: route)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pool.run { await orders.work($0) } }
            group.addTask { try await serveWhileParentLives(port: port) { await orders.handle($0) } }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// Sends the load, then writes the samples as JSON to `output`.
    public static func load(
        target: String,
        orderRate: Double,
        inventoryRate: Double,
        start: UInt64,
        duration: Double,
        timeout: Double,
        output: String
    ) async throws {
        let generator = LoadGenerator(
            target: target,
            orderRate: orderRate,
            inventoryRate: inventoryRate,
            start: start,
            duration: duration,
            timeout: timeout
        )
        let samples = try await generator.run()
        try JSONEncoder().encode(samples).write(to: URL(fileURLWithPath: output))
    }

    /// Serves until the demo that started this process is gone: a role must not outlive it, even when
    /// the demo was killed without a chance to stop it.
    private static func serveWhileParentLives(port: Int, handler: @escaping DemoHTTPServer.Handler) async throws {
        let parent = getppid()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await DemoHTTPServer.serve(port: port, handler: handler) }
            group.addTask {
                while getppid() == parent { try await Task.sleep(nanoseconds: 500_000_000) }
                exit(0)
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }
}
