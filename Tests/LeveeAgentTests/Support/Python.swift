import Foundation
import LeveeTestKit
import Testing

/// Debian's Python with `grpcio` and `grpc_tools` (which `scripts/test` installs), and the repository
/// whose proto/, examples/ and test scripts it runs.
enum Python {
    /// The repository root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let executable = ProcessInfo.processInfo.environment["LEVEE_PYTHON"] ?? "/usr/bin/python3"

    /// A path under the repository root.
    static func path(_ relative: String) -> String {
        root.appendingPathComponent(relative).path
    }

    /// A new folder holding `levee/v1/guard_pb2.py` and `guard_pb2_grpc.py`, generated from proto/ by
    /// grpc_tools, as any Python app would; the caller removes it.
    static func generateStubs() async throws -> String {
        let stubs = try AgentHarness.makeDirectory()
        let generated = try await ChildProcess.run(
            executable,
            [
                "-m", "grpc_tools.protoc", "-I", path("proto"), "--python_out=\(stubs)", "--grpc_python_out=\(stubs)",
                path("proto/levee/v1/guard.proto"),
            ]
        )
        try #require(generated.status == 0, "grpc_tools.protoc failed: \(generated.output)")
        return stubs
    }

    /// A new folder where the `levee` package (clients/python) is installed, built from the source
    /// tree as `pip install` builds it (its stubs generated from proto/); the caller removes it.
    static func installPackage() async throws -> String {
        let target = try AgentHarness.makeDirectory()
        let built = try await ChildProcess.run(
            executable,
            [
                "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "--target",
                target, path("clients/python"),
            ]
        )
        try #require(built.status == 0, "pip install clients/python failed: \(built.output)")
        try? FileManager.default.removeItem(atPath: path("clients/python/build"))
        return target
    }
}
