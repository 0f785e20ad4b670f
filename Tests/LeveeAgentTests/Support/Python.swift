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
}
