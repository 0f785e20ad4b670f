import Foundation

/// Runs another program to completion from an async test without blocking a thread.
///
/// `Process.waitUntilExit()` and a blocking pipe read hold one of the cooperative pool's threads (two on
/// these machines) for as long as the child runs; with tests running in parallel, that starves every
/// task that the child is waiting for (a gossip node answering the very query a `serf query` child
/// sent, say). Here the output goes to temporary files and the exit is awaited through
/// `terminationHandler`, so the waiting task gives its thread back.
public enum ChildProcess {
    /// What a finished child left behind.
    public struct Result: Sendable {
        /// The exit status, or the signal number when it was killed.
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
        /// Standard output, then standard error.
        public var output: String { standardOutput + standardError }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Runs `executable` with `arguments`, no standard input, and returns once it has exited. A child
    /// still running after `timeout` is killed (its result then shows the signal).
    public static func run(
        _ executable: String,
        _ arguments: [String],
        timeout: Duration = .seconds(60)
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory
        let outputURL = directory.appendingPathComponent("child-\(UUID().uuidString).out")
        let errorURL = directory.appendingPathComponent("child-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outputURL)
            try? FileManager.default.removeItem(at: errorURL)
        }
        let outputHandle = try FileHandle(forWritingTo: outputURL)
        let errorHandle = try FileHandle(forWritingTo: errorURL)
        defer {
            try? outputHandle.close()
            try? errorHandle.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = outputHandle
        process.standardError = errorHandle
        process.standardInput = FileHandle.nullDevice
        let exited = AsyncStream<Int32>.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { finished in
            exited.continuation.yield(finished.terminationStatus)
            exited.continuation.finish()
        }
        try process.run()

        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await status in exited.stream { return status }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            // The first child to finish: the exit, or the timeout (then terminate and await the exit).
            if let first = await group.next(), let status = first {
                group.cancelAll()
                return status
            }
            // SIGKILL, not SIGTERM: a child inherits the test runner's blocked signals, SIGTERM
            // included, and would outlive a terminate().
            kill(process.processIdentifier, SIGKILL)
            while let next = await group.next() {
                if let status = next { return status }
            }
            return process.terminationStatus
        }
        return Result(
            status: status,
            standardOutput: (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
        )
    }
}
