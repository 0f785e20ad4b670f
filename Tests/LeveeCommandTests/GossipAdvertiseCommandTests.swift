import Foundation
import LeveeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `levee agent --gossip-advertise`: in a pod, one ConfigMap serves every replica and binds the
/// wildcard address; each pod advertises its own IP, which Kubernetes puts on the command line
/// (`--gossip-advertise=$(POD_IP):7946`).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct GossipAdvertiseCommandTests {
    static let wildcardPool = """
        upstreams: {}
        gossip:
          name: pod-1
          bind: 0.0.0.0:0
        """

    @Test("--gossip-advertise gives a wildcard bind its address; `levee members` shows it")
    func advertisedAddress() async throws {
        let agent = try await AgentProcess.start(
            yaml: Self.wildcardPool,
            arguments: ["--gossip-advertise", "127.0.0.1:17946"]
        )
        let members = try await agent.levee("members", "--json")
        let list = try JSONSerialization.jsonObject(with: Data(members.standardOutput.utf8)) as? [[String: Any]]
        let local = try #require(list?.first { $0["local"] as? Bool == true }, "\(members.output)")
        #expect(local["address"] as? String == "127.0.0.1:17946", "\(members.output)")
    }

    @Test("without it, a wildcard bind is refused with the key to set; a bad value is refused too")
    func refusals() async throws {
        let (directory, config, _, _) = try AgentProcess.makeConfig(Self.wildcardPool)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let plain = try await ChildProcess.run(try CommandRunner.leveeExecutable(), ["agent", "--config", config])
        #expect(plain.status != 0)
        #expect(plain.output.contains("gossip.advertise"), "\(plain.output)")
        let bad = try await ChildProcess.run(
            try CommandRunner.leveeExecutable(),
            ["agent", "--config", config, "--gossip-advertise", "pod-ip"]
        )
        #expect(bad.status != 0)
        #expect(bad.output.contains("--gossip-advertise"), "\(bad.output)")
    }
}
