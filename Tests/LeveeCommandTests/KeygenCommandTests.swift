import Foundation
import LeveeGossip
import LeveeTestKit
import Testing

@Suite struct KeygenCommandTests {
    @Test(arguments: [16, 24, 32])
    func printsABase64KeyOfTheRequestedSize(bytes: Int) async throws {
        let result = try await CommandRunner.levee("keygen", "--bytes", "\(bytes)")
        #expect(result.status == 0, "\(result.standardError)")
        let text = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try Keyring.decodeKey(text).count == bytes)
    }

    @Test func twoKeysDiffer() async throws {
        let first = try await CommandRunner.levee("keygen").standardOutput
        let second = try await CommandRunner.levee("keygen").standardOutput
        #expect(first != second)
    }

    @Test func refusesAnAESSizeThatDoesNotExist() async throws {
        let result = try await CommandRunner.levee("keygen", "--bytes", "20")
        #expect(result.status != 0)
        #expect(result.standardError.contains("--bytes must be 16, 24 or 32, not 20"))
    }

    /// The point of the format: a real `serf agent` takes the key as its `-encrypt` flag. serf exits at
    /// once with "Failed to decode encryption key" on a key it cannot use; with a good one it starts
    /// serving, which `serf members` shows.
    @Test func aRealSerfAgentAcceptsTheKey() async throws {
        let key = try await CommandRunner.levee("keygen").standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let serf = try serfExecutable()
        let rpcPort = try freeLoopbackPort()
        let bindPort = try freeLoopbackPort()
        let rpcAddress = "127.0.0.1:\(rpcPort)"
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: serf)
        agent.arguments = [
            "agent", "-node=keygen-check", "-bind=127.0.0.1:\(bindPort)", "-rpc-addr=\(rpcAddress)",
            "-encrypt=\(key)",
        ]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { agent.terminate() }
        var answered = false
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline && agent.isRunning {
            if try await ChildProcess.run(serf, ["members", "-rpc-addr=\(rpcAddress)"]).standardOutput.contains(
                "keygen-check"
            ) {
                answered = true
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(answered, "serf agent did not start with the key from levee keygen")
    }

    private func serfExecutable() throws -> String {
        for candidate in ["/usr/bin/serf", "/usr/local/bin/serf"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw ChildProcess.Failure(description: "serf is missing: apt-get install -y serf (scripts/test does so)")
    }
}

@Suite struct VersionCommandTests {
    @Test func printsTheVersion() async throws {
        let result = try await CommandRunner.levee("version")
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("levee "))
    }
}
