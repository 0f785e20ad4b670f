import Foundation
import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveeTestKit
import Testing

/// `listen.allow` and `listen.admin_allow`: the agent reads each caller's credentials (`SO_PEERCRED`,
/// `SO_PEERGROUPS`) and closes a connection whose uid or groups are not listed before reading from it.
/// The callers here are real processes run as another user (`setpriv`), on sockets whose file mode
/// lets everyone in, so that only the allow list decides.
@Suite(.serialized)
struct PeerCredentialTests {
    /// The uid and gid the callers run as (Debian's `nobody` and `nogroup`).
    static let nobody: UInt32 = 65534
    /// A supplementary group the callers are given, which no file on the machine needs.
    static let extraGroup: UInt32 = 4242

    /// Asks `method` (`Guard/Ping` or `Admin/Status`) on `socket` from a Python gRPC client running as
    /// uid and gid 65534 with the supplementary group 4242: "ok", or "refused CODE".
    static func grpcCall(socket: String, method: String) async throws -> String {
        let script = """
            import sys, grpc
            channel = grpc.insecure_channel("unix://" + sys.argv[1])
            try:
                channel.unary_unary(sys.argv[2])(b"", timeout=5)
                print("ok")
            except grpc.RpcError as error:
                print("refused", error.code().name)
            """
        let result = try await runAsNobody("/usr/bin/python3", ["-c", script, socket, method])
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// GET /ok through the proxy listener's Unix socket with curl, as uid 65534: the body, or "refused".
    static func proxyCall(socket: String) async throws -> String {
        let result = try await runAsNobody(
            "/usr/bin/curl",
            ["-sS", "--max-time", "5", "--unix-socket", socket, "http://web/ok"]
        )
        return result.status == 0 ? result.standardOutput : "refused"
    }

    static func runAsNobody(_ executable: String, _ arguments: [String]) async throws -> ChildProcess.Result {
        try await ChildProcess.run(
            "/usr/bin/setpriv",
            ["--reuid=\(nobody)", "--regid=\(nobody)", "--groups=\(extraGroup)", "--", executable] + arguments,
            timeout: .seconds(30)
        )
    }

    /// Lets everyone in by the file mode, so that the allow lists alone decide.
    static func openModes(_ agent: AgentHarness) throws {
        let listen = agent.configuration.listen
        for path in [listen.socket, listen.adminSocket] + (listen.proxySocket.map { [$0] } ?? []) {
            try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: path)
        }
    }

    static func refusedCount(_ agent: AgentHarness, socket: String) async throws -> Double {
        let address = try #require(agent.agent.httpAddress)
        let (_, metrics) = try await PrometheusText.scrape(address)
        return metrics.value("levee_connections_refused_total", ["socket": socket]) ?? 0
    }

    @Test("A caller of another uid is refused on every socket until its uid or one of its groups is listed")
    func allowLists() async throws {
        guard getuid() == 0 else {
            Issue.record("this test runs callers as another user, which needs root (setpriv)")
            return
        }
        let server = try await TestHTTPServer.start()
        server.behaviour = .respond(status: 200, body: "hello")
        let yaml = """
            upstreams:
              web: { endpoints: ["\(server.address)"] }
            """
        try await AgentHarness.withAgent(yaml: yaml, proxySocket: true) { agent in
            try Self.openModes(agent)
            let listen = agent.configuration.listen
            let proxySocket = try #require(listen.proxySocket)

            // No allow list: the file mode decides, and it lets everyone in.
            #expect(try await Self.grpcCall(socket: listen.socket, method: "/levee.v1.Guard/Ping") == "ok")
            #expect(try await Self.proxyCall(socket: proxySocket) == "hello")
            // The admin socket's default list is the agent's own user and root.
            #expect(try await Self.grpcCall(socket: listen.adminSocket, method: "/levee.v1.Admin/Status") != "ok")
            #expect(try await Self.refusedCount(agent, socket: "admin") >= 1)

            // Only root listed: the caller is refused before any RPC, and counted.
            try agent.rewriteFile(yaml, listen: "allow: { uids: [0] }")
            _ = try await agent.admin.reload(Levee_V1_ReloadRequest())
            #expect(try await Self.grpcCall(socket: listen.socket, method: "/levee.v1.Guard/Ping") != "ok")
            #expect(try await Self.proxyCall(socket: proxySocket) == "refused")
            #expect(try await Self.refusedCount(agent, socket: "guard") >= 1)
            #expect(try await Self.refusedCount(agent, socket: "proxy") >= 1)
            // The agent's own clients (root) still get in.
            _ = try await agent.guardClient.ping(Levee_V1_PingRequest())

            // Its uid listed: let in.
            try agent.rewriteFile(yaml, listen: "allow: { uids: [0, \(Self.nobody)] }")
            _ = try await agent.admin.reload(Levee_V1_ReloadRequest())
            #expect(try await Self.grpcCall(socket: listen.socket, method: "/levee.v1.Guard/Ping") == "ok")
            #expect(try await Self.proxyCall(socket: proxySocket) == "hello")

            // One of its supplementary groups listed: let in (SO_PEERGROUPS).
            try agent.rewriteFile(yaml, listen: "allow: { uids: [0], gids: [\(Self.extraGroup)] }")
            _ = try await agent.admin.reload(Levee_V1_ReloadRequest())
            #expect(try await Self.grpcCall(socket: listen.socket, method: "/levee.v1.Guard/Ping") == "ok")

            // The admin socket follows `listen.admin_allow`.
            try agent.rewriteFile(yaml, listen: "admin_allow: { uids: [0], gids: [\(Self.nobody)] }")
            _ = try await agent.admin.reload(Levee_V1_ReloadRequest())
            #expect(try await Self.grpcCall(socket: listen.adminSocket, method: "/levee.v1.Admin/Status") == "ok")
        }
        try await server.stop()
    }
}
