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
        // `start` waits until the agent answers `serf members`, and fails when it exits instead.
        try await withSerfAgent(name: "keygen-check", encryptKey: key) { agent in
            let names = try await agent.members().map(\.name)
            #expect(names == ["keygen-check"])
        }
    }
}

@Suite struct VersionCommandTests {
    @Test func printsTheVersion() async throws {
        let result = try await CommandRunner.levee("version")
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("levee "))
    }
}
