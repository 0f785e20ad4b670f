import Foundation
import LeveeTestKit
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of the agent under load: what its callers see, what a restarted agent does with the
/// stale socket and state, and what the gossip pool (a real `serf agent`) sees.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CrashRestartTests {
    /// The callers' deadline: far longer than the test waits, so that a caller that waited it out shows.
    static let deadlineMs = 60_000

    @Test("kill -9 under 8 callers: each fails at once, a restart takes over the socket, serf sees failed then alive")
    func killedUnderLoad() async throws {
        let upstream = try await TestHTTPServer.start()
        upstream.behaviour = .stall(.seconds(120), then: .ok)
        try await withSerfAgent(name: "serf-watcher") { serf in
            let (directory, config, socket, admin) = try AgentProcess.makeConfig(
                """
                service: orders
                upstreams:
                  slow:
                    endpoints: ["\(upstream.address)"]
                    timeouts: { attempt: 90s, total: 90s }
                    bulkhead: { max_concurrent: 64 }
                  other:
                    endpoints: ["\(upstream.address)"]
                gossip:
                  name: levee-crashy
                  bind: 127.0.0.1:\(try FreePort.both())
                  join: ["\(serf.bindAddress)"]
                """
            )
            let first = try await AgentProcess.start(directory: directory, config: config, socket: socket, admin: admin)
            _ = try await serf.waitForMember("levee-crashy") { $0.status == "alive" }
            // State that must not outlive the process: a forced-open breaker, and 8 calls in flight.
            #expect(try await first.levee("breaker", "open", "other").status == 0)

            let leveePath = try CommandRunner.leveeExecutable()
            let callers = try (0..<8).map { index in
                try RunningChild.start(
                    leveePath,
                    ["call", "slow", "/caller-\(index)", "--timeout", "\(Self.deadlineMs)", "--socket", socket],
                    stem: "caller-\(index)"
                )
            }
            let allArrived = try await eventually(within: .seconds(20)) { upstream.requestCount >= 8 }
            #expect(allArrived, "the 8 calls did not reach the upstream: \(upstream.requestCount)")

            let killedAt = ContinuousClock.now
            first.signal(SIGKILL)
            #expect(await first.waitForExit(within: .seconds(10)) != nil)
            // Every caller gets its error at once: none waits out its 60 s deadline.
            let allFailed = try await eventually(within: .seconds(10)) { callers.allSatisfy { $0.exit != nil } }
            #expect(allFailed, "callers still waiting \(ContinuousClock.now - killedAt) after the kill")
            for caller in callers {
                #expect(
                    caller.exit != nil && caller.exit != 0,
                    "a caller of the dead agent exited \(String(describing: caller.exit))"
                )
                #expect(!caller.standardError.isEmpty, "a caller failed without saying why")
                caller.signal(SIGKILL)
            }
            #expect(FileManager.default.fileExists(atPath: socket), "kill -9 leaves the socket file behind")

            // The pool sees the member fail.
            _ = try await serf.waitForMember("levee-crashy", timeout: .seconds(30)) { $0.status == "failed" }

            // A restart takes over the stale socket and answers within a second.
            let restartedAt = ContinuousClock.now
            let second = try await AgentProcess.start(
                directory: directory,
                config: config,
                socket: socket,
                admin: admin,
                readyTimeout: .seconds(1)
            )
            let status = try await second.levee("status", "--json")
            #expect(status.status == 0, "\(status.output)")
            print("restart: socket answering \(ContinuousClock.now - restartedAt) after the spawn, status included")

            // Nothing of the dead agent: no calls in flight, the forced breaker gone.
            let listed = try await second.levee("upstreams", "--json")
            let upstreams = try #require(
                try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]]
            )
            for info in upstreams {
                #expect(info["in_flight"] as? Int == 0, "\(info)")
                #expect(info["leases"] as? Int == 0, "\(info)")
                #expect(info["breaker"] as? String == "closed", "\(info)")
            }
            // The same name is alive again in the pool.
            _ = try await serf.waitForMember("levee-crashy", timeout: .seconds(30)) { $0.status == "alive" }
            second.signal(SIGTERM)
            _ = await second.waitForExit(within: .seconds(15))
            _ = first
        }
        try await upstream.stop()
    }
}
