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

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP port that nothing listens on right now, found by binding port 0 and asking the
/// kernel which port it chose (then closing it, so a child process can take it).
func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw ChildProcess.Failure(description: "socket(): errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
            bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
        }
    }
    guard bound else { throw ChildProcess.Failure(description: "bind(127.0.0.1:0): errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
