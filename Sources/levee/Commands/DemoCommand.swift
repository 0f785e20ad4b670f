import ArgumentParser
import Foundation
import LeveeDemo
import UnixSignals

/// `levee demo`: the chapter's scenario — Orders, Payments and Inventory, with and without the agent,
/// Payments turning sick mid-run — run on this machine and told from what it measured.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the chapter's scenario (Orders, Payments, Inventory) unprotected and protected; tell it.",
        discussion: """
            Starts Payments, Inventory, Orders (16 workers), a load generator and, for the protected run, an \
            agent, as processes of this binary on 127.0.0.1. In each run Payments turns sick (it answers 500 \
            after 10 s), then heals. Prints each run's story with its times, a table of both runs, and writes \
            an SVG chart. Takes about 100 s (--quick: under a minute).
            """,
        subcommands: [DemoServe.self, DemoLoad.self]
    )

    @Flag(help: "Shorter phases (the same 10 s latency): both runs in under a minute.")
    var quick = false

    @Option(help: "Where to write the SVG chart of both runs.")
    var chart = "levee-demo.svg"

    @Flag(help: "Print the measured figures as JSON instead of the story and the table.")
    var json = false

    func run() async throws {
        let options = Demo.Options(
            quick: quick,
            chartPath: URL(fileURLWithPath: chart).path,
            json: json,
            executable: Self.executable
        )
        enum Ending: Sendable {
            case finished(String)
            case interrupted
        }
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let ending = try await withThrowingTaskGroup(of: Ending.self) { group in
            group.addTask {
                .finished(
                    try await Demo.run(options) { line in
                        FileHandle.standardError.write(Data("levee demo: \(line)\n".utf8))
                    }
                )
            }
            group.addTask {
                for await _ in signals { return .interrupted }
                return .interrupted
            }
            defer { group.cancelAll() }
            return try await group.next() ?? .interrupted
        }
        switch ending {
        case .finished(let output):
            print(output)
        case .interrupted:
            FileHandle.standardError.write(Data("levee demo: interrupted; every process it started is stopped\n".utf8))
            throw ExitCode(130)
        }
    }

    /// This binary: the demo's roles run as its subcommands.
    static var executable: String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }
}

/// `levee demo serve payments|inventory|orders`: one of the demo's servers (hidden: the demo starts them).
struct DemoServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one of the demo's servers (started by `levee demo`).",
        shouldDisplay: false
    )

    enum Role: String, ExpressibleByArgument, CaseIterable {
        case payments, inventory, orders
    }

    @Argument(help: "payments, inventory or orders.")
    var role: Role

    @Option(help: "The port on 127.0.0.1.")
    var port: Int

    @Option(name: .customLong("sick-latency"), help: "payments: seconds a sick Payments waits before its 500.")
    var sickLatency: Double = 10

    @Option(help: "orders: workers in the pool.")
    var workers: Int = 16

    @Option(help: "orders: requests that may wait for a worker.")
    var queue: Int = 32

    @Option(name: .customLong("queue-timeout"), help: "orders: seconds a request may wait for a worker.")
    var queueTimeout: Double = 1

    @Option(help: "orders: Inventory's HOST:PORT (unprotected).")
    var inventory: String?

    @Option(help: "orders: Payments' HOST:PORT (unprotected).")
    var payments: String?

    @Option(name: .customLong("via-agent"), help: "orders: the agent's proxy listener HOST:PORT (protected).")
    var viaAgent: String?

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port: expected 1 to 65535, got \(port)") }
        guard workers > 0, queue >= 0, queueTimeout > 0, sickLatency >= 0 else {
            throw ValidationError("--workers, --queue-timeout: expected positive numbers; --queue, --sick-latency ≥ 0")
        }
    }

    func run() async throws {
        switch role {
        case .payments:
            try await DemoRole.servePayments(port: port, sickLatency: sickLatency)
        case .inventory:
            try await DemoRole.serveInventory(port: port)
        case .orders:
            try await DemoRole.serveOrders(
                port: port,
                workers: workers,
                queueLimit: queue,
                queueTimeout: queueTimeout,
                inventory: inventory,
                payments: payments,
                agentProxy: viaAgent
            )
        }
    }
}

/// `levee demo load`: the demo's load generator (hidden: the demo starts it).
struct DemoLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Send the demo's load to Orders and write what it saw (started by `levee demo`).",
        shouldDisplay: false
    )

    @Option(help: "Orders' HOST:PORT.")
    var target: String

    @Option(name: .customLong("order-rate"), help: "Order pages per second.")
    var orderRate: Double = 40

    @Option(name: .customLong("inventory-rate"), help: "Inventory pages per second.")
    var inventoryRate: Double = 40

    @Option(help: "The run's start, in nanoseconds on the monotonic clock (CLOCK_MONOTONIC).")
    var start: UInt64

    @Option(help: "Seconds to send for.")
    var duration: Double

    @Option(help: "Seconds a page may take before it counts as failed.")
    var timeout: Double = 2

    @Option(help: "The file to write the samples to (JSON).")
    var output: String

    func run() async throws {
        try await DemoRole.load(
            target: target,
            orderRate: orderRate,
            inventoryRate: inventoryRate,
            start: start,
            duration: duration,
            timeout: timeout,
            output: output
        )
    }
}
