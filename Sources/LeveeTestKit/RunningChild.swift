import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A long-running child process (an agent, a gossip member, serf, a program in a pseudo-terminal)
/// that a test talks to while it runs: its standard output and error go to files the test reads at
/// any time, its exit is recorded by the termination handler, and it is killed and its files removed
/// when the wrapper goes away. `ChildProcess.run` is its counterpart for children run to completion.
///
/// Waiting for the exit is a bounded poll that gives the thread back between looks:
/// `waitUntilExit()` would hold one of the cooperative pool's two threads.
public final class RunningChild: Sendable {
    /// Where the child's standard input comes from.
    public enum Input: Sendable {
        /// Nothing: the child reads end of file.
        case none
        /// A pipe the test writes to with `type(_:)`.
        case pipe
    }

    private let process: Process
    private let keyboard: FileHandle?
    private let exitStatus = Mutex<Int32?>(nil)
    /// Where standard output goes.
    public let outputPath: String
    /// Where standard error goes (the same file as standard output when they are merged).
    public let errorPath: String

    private init(process: Process, keyboard: FileHandle?, outputPath: String, errorPath: String) {
        self.process = process
        self.keyboard = keyboard
        self.outputPath = outputPath
        self.errorPath = errorPath
    }

    /// Starts `executable` with `arguments`; output goes to new files named after `stem` in the
    /// temporary directory (standard error into the output file with `mergeOutput`).
    public static func start(
        _ executable: String,
        _ arguments: [String],
        stem: String = "child",
        mergeOutput: Bool = false,
        input: Input = .none
    ) throws -> RunningChild {
        let base = NSTemporaryDirectory() + "levee-\(stem)-\(UUID().uuidString)"
        let outputPath = base + ".out"
        let errorPath = mergeOutput ? outputPath : base + ".err"
        for path in Set([outputPath, errorPath]) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let error = mergeOutput ? output : try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        defer {
            try? output.close()
            if !mergeOutput { try? error.close() }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = error
        var keyboard: FileHandle?
        switch input {
        case .none:
            process.standardInput = FileHandle.nullDevice
        case .pipe:
            let pipe = Pipe()
            process.standardInput = pipe
            keyboard = pipe.fileHandleForWriting
        }
        let child = RunningChild(process: process, keyboard: keyboard, outputPath: outputPath, errorPath: errorPath)
        process.terminationHandler = { [child] finished in
            child.exitStatus.withLock { $0 = finished.terminationStatus }
        }
        try process.run()
        return child
    }

    deinit {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGCONT)
            Glibc.kill(process.processIdentifier, SIGKILL)
        }
        try? keyboard?.close()
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    public var pid: Int32 { process.processIdentifier }

    /// The exit status (or the signal that ended it), once it has exited.
    public var exit: Int32? { exitStatus.withLock { $0 } }

    /// What the child has written to standard output so far.
    public var standardOutput: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// What the child has written to standard error so far.
    public var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` (SIGSTOP freezes the child, SIGCONT resumes it, SIGTERM asks it to stop).
    public func signal(_ signal: Int32) {
        Glibc.kill(process.processIdentifier, signal)
    }

    /// Writes `text` to the child's standard input (started with `input: .pipe`).
    public func type(_ text: String) throws {
        try keyboard?.write(contentsOf: Data(text.utf8))
    }

    /// Waits at most `timeout` for the child to exit; its status, or nil while it runs.
    public func waitForExit(within timeout: Duration) async -> Int32? {
        _ = try? await eventually(within: timeout, every: .milliseconds(10)) { exit != nil }
        return exit
    }

    /// Asks the child to stop (SIGTERM; a stopped child is continued first), kills it if it has not
    /// exited within `grace`, and waits for the exit.
    public func stop(grace: Duration = .seconds(5)) async {
        guard exit == nil else { return }
        Glibc.kill(process.processIdentifier, SIGCONT)
        Glibc.kill(process.processIdentifier, SIGTERM)
        if await waitForExit(within: grace) == nil {
            Glibc.kill(process.processIdentifier, SIGKILL)
            _ = await waitForExit(within: .seconds(5))
        }
    }

    /// Kills the child at once (SIGKILL, after SIGCONT for a stopped one) and waits for the exit.
    public func kill() async {
        guard exit == nil else { return }
        Glibc.kill(process.processIdentifier, SIGCONT)
        Glibc.kill(process.processIdentifier, SIGKILL)
        _ = await waitForExit(within: .seconds(5))
    }
}
