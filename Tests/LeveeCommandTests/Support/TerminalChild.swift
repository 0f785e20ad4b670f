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
    private let child: RunningChild

    private init(child: RunningChild) {
        self.child = child
    }

    static var scriptPath: String? {
        ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `command` under `script` in a new pseudo-terminal, keyboard on a pipe, screen to a file.
    static func start(_ command: String) throws -> TerminalChild {
        guard let script = scriptPath else {
            throw ChildProcess.Failure(description: "util-linux script is not installed")
        }
        // -q: no "Script started" lines; -f: flush each write; -e: exit with the command's status.
        let child = try RunningChild.start(
            script,
            ["-qfec", command, "/dev/null"],
            stem: "pty",
            mergeOutput: true,
            input: .pipe
        )
        return TerminalChild(child: child)
    }

    /// What the terminal has shown so far, escape sequences included.
    var output: String { child.standardOutput }

    /// Types `keys` on the terminal's keyboard.
    func type(_ keys: String) throws {
        try child.type(keys)
    }

    var exit: Int32? { child.exit }

    func waitForExit(within timeout: Duration) async -> Int32? {
        await child.waitForExit(within: timeout)
    }
}
