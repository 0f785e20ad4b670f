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
    private let child: RunningChild

    private init(name: String, address: String, child: RunningChild) {
        self.name = name
        self.address = address
        self.child = child
    }

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

        let child = try RunningChild.start(try CommandRunner.leveeExecutable(), arguments, stem: "member-\(name)")
        var address: String?
        _ = try await eventually(within: readyTimeout, every: .milliseconds(20)) {
            address = Self.parse(child.standardOutput).first(where: { $0["event"] == "ready" })?["address"]
            return address != nil || child.exit != nil
        }
        if let address { return LeveeMemberProcess(name: name, address: address, child: child) }
        await child.kill()
        let standardError = child.standardError
        throw ChildProcess.Failure(
            description:
                "levee \(arguments.joined(separator: " ")) printed no ready line within \(readyTimeout); stderr: \(standardError)"
        )
    }

    var pid: Int32 { child.pid }

    func signal(_ signal: Int32) {
        child.signal(signal)
    }

    var exit: Int32? { child.exit }

    func waitForExit(within timeout: Duration) async -> Int32? {
        await child.waitForExit(within: timeout)
    }

    func stop() async {
        await child.kill()
    }

    var events: [Event] {
        Self.parse(child.standardOutput)
    }

    /// What it wrote to standard error so far.
    var standardError: String {
        child.standardError
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
        let output = child.standardOutput
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
