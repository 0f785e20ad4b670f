import Foundation
import Synchronization

/// The demo's child processes: each started from this same binary (or the agent), its output in a
/// log file of the demo's folder; every one is stopped when the demo ends, however it ends.
final class DemoChildren: Sendable {
    /// A started child. `Process` is not `Sendable`; it is only touched under `DemoChildren`'s lock
    /// or through its thread-safe `isRunning`, `processIdentifier` and `terminate()`.
    final class Child: @unchecked Sendable {
        let name: String
        let process: Process
        let exit: AsyncStream<Int32>
        let log: URL

        init(name: String, process: Process, exit: AsyncStream<Int32>, log: URL) {
            self.name = name
            self.process = process
            self.exit = exit
            self.log = log
        }

        /// Waits for the child to end and returns its status.
        func waitForExit() async -> Int32 {
            for await status in exit { return status }
            return process.isRunning ? -1 : process.terminationStatus
        }

        /// The end of the child's log, to say why it failed.
        var logTail: String {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").suffix(15).joined(separator: "\n")
        }
    }

    private let children = Mutex<[Child]>([])
    let directory: URL

    init(directory: URL) {
        self.directory = directory
    }

    /// Starts `executable arguments…`, standard output and error to `name.log` in the demo's folder.
    func start(_ name: String, _ executable: String, _ arguments: [String]) throws -> Child {
        let log = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let (exit, continuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { finished in
            continuation.yield(finished.terminationStatus)
            continuation.finish()
        }
        try process.run()
        let child = Child(name: name, process: process, exit: exit, log: log)
        children.withLock { $0.append(child) }
        return child
    }

    /// Stops every child still running: SIGTERM, then SIGKILL for any still there after a second.
    /// Synchronous, so that it can run from a `defer` and on SIGINT.
    func stopAll() {
        let running = children.withLock { children in
            defer { children.removeAll() }
            return children
        }.filter { $0.process.isRunning }
        for child in running { kill(child.process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(1)
        while running.contains(where: { $0.process.isRunning }) && Date() < deadline { usleep(20_000) }
        for child in running where child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
    }
}
