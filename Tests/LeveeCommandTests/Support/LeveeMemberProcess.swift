import Foundation
import LeveeTestKit
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `levee gossip-member` run as a child process on 127.0.0.1: a pool member as an operator runs it.
///
/// Its standard output goes to a temporary file that is read again on every look (never a blocking
/// read), one JSON event per line; the exit is observed through `terminationHandler`. It can be
/// signalled (SIGSTOP freezes it, SIGCONT resumes it, SIGTERM leaves the pool, SIGKILL crashes it)
/// and is killed when released, whatever the test did.
final class LeveeMemberProcess: Sendable {
    /// One line of output: the string fields, with numbers written as text.
    typealias Event = [String: String]

    let name: String
    /// `127.0.0.1:PORT` from the "ready" line.
    let address: String
    private let process: Process
    private let outputPath: String
    private let errorPath: String
    private let exitStatus: ExitStatus

    /// The exit status, set by `terminationHandler`.
    private final class ExitStatus: Sendable {
        let value = Mutex<Int32?>(nil)
    }

    private init(
        name: String,
        address: String,
        process: Process,
        outputPath: String,
        errorPath: String,
        exitStatus: ExitStatus
    ) {
        self.name = name
        self.address = address
        self.process = process
        self.outputPath = outputPath
        self.errorPath = errorPath
        self.exitStatus = exitStatus
    }

    /// Starts `levee gossip-member --name NAME --bind 127.0.0.1:0 --profile lan` with `arguments`
    /// after, and waits (bounded poll) for its "ready" line.
    static func start(
        name: String,
        join: [String] = [],
        tags: [String: String] = [:],
        arguments extra: [String] = [],
        readyTimeout: Duration = .seconds(10)
    ) async throws -> LeveeMemberProcess {
        var arguments = ["gossip-member", "--name", name, "--bind", "127.0.0.1:0", "--profile", "lan"]
        for seed in join { arguments += ["--join", seed] }
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) { arguments += ["--tag", "\(key)=\(value)"] }
        arguments += extra

        let stem = NSTemporaryDirectory() + "levee-member-\(name)-\(UUID().uuidString)"
        let outputPath = stem + ".out"
        let errorPath = stem + ".err"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let error = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        defer {
            try? output.close()
            try? error.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CommandRunner.leveeExecutable())
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice

        let exitStatus = ExitStatus()
        process.terminationHandler = { finished in
            exitStatus.value.withLock { $0 = finished.terminationStatus }
        }
        try process.run()

        let clock = ContinuousClock()
        let deadline = clock.now + readyTimeout
        while clock.now < deadline {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            if let ready = Self.parse(text).first(where: { $0["event"] == "ready" }), let address = ready["address"] {
                let member = LeveeMemberProcess(
                    name: name,
                    address: address,
                    process: process,
                    outputPath: outputPath,
                    errorPath: errorPath,
                    exitStatus: exitStatus
                )
                return member
            }
            if exitStatus.value.withLock({ $0 }) != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        let standardError = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        throw ChildProcess.Failure(
            description:
                "levee \(arguments.joined(separator: " ")) printed no ready line within \(readyTimeout); stderr: \(standardError)"
        )
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    /// The process id, for signals.
    var pid: Int32 { process.processIdentifier }

    /// Sends `signal` to the process.
    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// The exit status (or the signal that ended it), once it has exited.
    var exit: Int32? { exitStatus.value.withLock { $0 } }

    /// Polls until the process has exited, at most `timeout`; its status, or nil when still running.
    func waitForExit(within timeout: Duration) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while exit == nil && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exit
    }

    /// Kills the process (continuing it first, should it be stopped) and waits for the exit.
    func stop() async {
        guard exit == nil else { return }
        kill(process.processIdentifier, SIGCONT)
        kill(process.processIdentifier, SIGKILL)
        _ = await waitForExit(within: .seconds(5))
    }

    /// Every complete event line printed so far.
    var events: [Event] {
        Self.parse((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    /// What it wrote to standard error so far.
    var standardError: String {
        (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
    }

    /// Events of `kind` about `member`.
    func events(_ kind: String, member: String) -> [Event] {
        events.filter { $0["event"] == kind && $0["member"] == member }
    }

    /// Polls until an event satisfies `condition`, at most `timeout`; nil when none did.
    func first(within timeout: Duration, where condition: (Event) -> Bool) async throws -> Event? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        repeat {
            if let event = events.first(where: condition) { return event }
            try await Task.sleep(for: .milliseconds(20))
        } while clock.now < deadline
        return events.first(where: condition)
    }

    /// Polls until an event of `kind` about `member` shows up, at most `timeout`.
    func waitFor(_ kind: String, member: String, within timeout: Duration) async throws -> Event? {
        let event = try await first(within: timeout) { $0["event"] == kind && $0["member"] == member }
        if event == nil {
            Issue.record("\(name) printed no \(kind) for \(member) within \(timeout); output:\n\(transcript())")
        }
        return event
    }

    /// Everything it printed, for failure messages.
    func transcript() -> String {
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return "stdout:\n\(output)stderr:\n\(standardError)"
    }

    /// The complete lines of `text` (a line still being written has no newline yet), as events.
    private static func parse(_ text: String) -> [Event] {
        guard let lastNewline = text.lastIndex(of: "\n") else { return [] }
        return text[..<lastNewline].split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return object.mapValues { "\($0)" }
        }
    }
}

/// Runs `body` with a started member and kills it afterwards, whatever happens; a failure records
/// what it printed.
func withLeveeMember<Result>(
    name: String,
    join: [String] = [],
    tags: [String: String] = [:],
    _ body: (LeveeMemberProcess) async throws -> Result
) async throws -> Result {
    let member = try await LeveeMemberProcess.start(name: name, join: join, tags: tags)
    do {
        let result = try await body(member)
        await member.stop()
        return result
    } catch {
        Issue.record("levee gossip-member \(member.name):\n\(member.transcript())")
        await member.stop()
        throw error
    }
}
