import Foundation
import LeveeTestKit

/// Runs the `levee` binary that `swift build` put beside the test bundle, and other programs, as child
/// processes: the CLI tested as a user types it.
enum CommandRunner {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The built `levee` executable, found next to the test bundle in the build folder.
    static func leveeExecutable() throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("levee").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw Failure(description: "the levee executable was not found beside \(CommandLine.arguments[0]): swift build")
    }

    /// Runs `levee` with `arguments` to completion (without holding a thread while it runs).
    static func levee(_ arguments: String...) async throws -> ChildProcess.Result {
        try await ChildProcess.run(leveeExecutable(), arguments)
    }
}
