import Foundation
import LeveeTestKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A command run in a pseudo-terminal by util-linux `script`, as if typed in a terminal: what it
/// draws is captured in a file, and keys are typed into it through `script`'s standard input.
/// Killed when released, whatever the test did.
final class TerminalChild: Sendable {
    private let process: Process
    private let keyboard: FileHandle
    private let directory: String
    private let outputPath: String
    private let exitStatus = Mutex<Int32?>(nil)

    private init(process: Process, keyboard: FileHandle, directory: String, outputPath: String) {
        self.process = process
        self.keyboard = keyboard
        self.directory = directory
        self.outputPath = outputPath
    }

    /// `/usr/bin/script`, or nil where util-linux's `script` is missing.
    static var scriptPath: String? {
        ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts `command` (one shell line) in a new pseudo-terminal.
    static func start(_ command: String) throws -> TerminalChild {
        guard let script = scriptPath else {
            throw ChildProcess.Failure(description: "util-linux script is not installed")
        }
        let directory = "/tmp/levee-pty-\(UInt32.random(in: .min ... .max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let outputPath = "\(directory)/screen"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        let keyboard = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        // -q: no "Script started" lines; -f: flush each write; -e: exit with the command's status.
        process.arguments = ["-qfec", command, "/dev/null"]
        process.standardInput = keyboard
        process.standardOutput = output
        process.standardError = output
        let child = TerminalChild(
            process: process,
            keyboard: keyboard.fileHandleForWriting,
            directory: directory,
            outputPath: outputPath
        )
        process.terminationHandler = { [child] finished in
            child.exitStatus.withLock { $0 = finished.terminationStatus }
        }
        try process.run()
        return child
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? keyboard.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Everything the command wrote to its terminal so far, escape sequences included.
    var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Types `keys` into the terminal.
    func type(_ keys: String) throws {
        try keyboard.write(contentsOf: Data(keys.utf8))
    }

    var exit: Int32? { exitStatus.withLock { $0 } }

    /// Polls until the command has exited, at most `timeout`; its status, or nil when still running.
    func waitForExit(within timeout: Duration) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while exit == nil && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exit
    }
}
