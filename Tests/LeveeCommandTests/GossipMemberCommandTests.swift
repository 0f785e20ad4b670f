import Foundation
import LeveeGossip
import LeveeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `levee gossip-member` as a real process, with other such processes and real `serf agent`s, on
/// 127.0.0.1 with the LAN profile: graceful leave, crash (SIGKILL) and freeze (SIGSTOP/SIGCONT) of
/// either side, detected and refuted or declared failed within LAN bounds. Serialized: failure-
/// detection timing is what is under test, and the machines have two cores.
@Suite(.serialized)
struct GossipMemberCommandTests {
    static let lan = MembershipSettings.lan

    /// The minimum suspicion timeout in a pool of two: `suspicionMult × probeInterval` (no
    /// confirmations are possible).
    static var suspicionTimeout: Duration { lan.probeInterval * lan.suspicionMult }

    /// The longest a LAN pool of two may take to declare a crashed member failed, as in
    /// GossipNodeSerfTests: a probe round (interval, then the probe's own interval for indirect and
    /// TCP checks), the minimum suspicion timeout, plus a margin for gossip and a busy machine.
    static var failureBound: Duration { lan.probeInterval * 2 + suspicionTimeout + .seconds(4) }

    @Test("--bind 127.0.0.1:0 takes a free port and names it in the ready line")
    func bindsAnyFreePort() async throws {
        try await withLeveeMember(name: "cli-0") { member in
            let port = Int(member.address.split(separator: ":").last ?? "") ?? 0
            #expect(member.address.hasPrefix("127.0.0.1:") && port > 0, "\(member.address)")
            let ready = member.events.first
            #expect(ready?["event"] == "ready" && ready?["name"] == "cli-0" && ready?["time_ms"] != nil)
        }
    }

    @Test("1. B joins A: A prints B joined with its tags; SIGTERM B: A prints B left (not failed), B exits 0")
    func gracefulLeave() async throws {
        try await withLeveeMember(name: "cli-1a") { first in
            try await withLeveeMember(
                name: "cli-1b",
                join: [first.address],
                tags: ["role": "sidecar", "zone": "b"]
            ) { second in
                let joined = try await first.waitFor("member-joined", member: "cli-1b", within: .seconds(5))
                #expect(joined?["address"] == second.address)
                #expect(joined?["tag.role"] == "sidecar" && joined?["tag.zone"] == "b", "\(joined ?? [:])")
                #expect(try await second.waitFor("member-joined", member: "cli-1a", within: .seconds(5)) != nil)

                let clock = ContinuousClock()
                let signalled = clock.now
                second.signal(SIGTERM)
                let status = await second.waitForExit(within: .seconds(5))
                let exitedAfter = clock.now - signalled
                #expect(status == 0, "exit \(String(describing: status)); \(second.transcript())")
                #expect(try await first.waitFor("member-left", member: "cli-1b", within: .seconds(5)) != nil)
                let leftAfter = clock.now - signalled
                #expect(first.events("member-failed", member: "cli-1b").isEmpty, "\(first.transcript())")
                print(
                    "gossip-member 1: B exited \(status.map(String.init) ?? "-") after \(exitedAfter); A saw it left within \(leftAfter)"
                )
            }
        }
    }

    @Test("2. serf agent + Levee process: SIGKILL the process; serf lists it failed within LAN bounds")
    func serfDeclaresACrashedProcessFailed() async throws {
        try await withSerfAgent(name: "serf-cli-2") { agent in
            try await withLeveeMember(name: "cli-2", join: [agent.bindAddress], tags: ["role": "sidecar"]) { levee in
                let seen = try await agent.waitForMember("cli-2") { $0.status == "alive" }
                #expect(seen.tags == ["role": "sidecar"])
                #expect(try await levee.waitFor("member-joined", member: "serf-cli-2", within: .seconds(5)) != nil)

                let clock = ContinuousClock()
                let killed = clock.now
                levee.signal(SIGKILL)
                #expect(await levee.waitForExit(within: .seconds(5)) == SIGKILL)
                _ = try await agent.waitForMember("cli-2", timeout: Self.failureBound) { $0.status == "failed" }
                let failedAfter = clock.now - killed
                // Failed only through suspicion: a probe round, then the whole suspicion timeout.
                #expect(failedAfter >= Self.suspicionTimeout, "failed after \(failedAfter)")
                print(
                    "gossip-member 2: serf listed the killed process failed after \(failedAfter) (bound \(Self.failureBound))"
                )
            }
        }
    }

    @Test("3. serf agent + Levee process: SIGSTOP it until serf suspects it, SIGCONT: it refutes, never failed")
    func frozenProcessRefutes() async throws {
        try await withSerfAgent(name: "serf-cli-3") { agent in
            try await withLeveeMember(name: "cli-3", join: [agent.bindAddress]) { levee in
                _ = try await agent.waitForMember("cli-3") { $0.status == "alive" }
                #expect(try await levee.waitFor("member-joined", member: "serf-cli-3", within: .seconds(5)) != nil)
                var statuses: Set<String> = []
                func look() async throws {
                    if let member = try await agent.members().first(where: { $0.name == "cli-3" }) {
                        statuses.insert(member.status)
                    }
                }

                let clock = ContinuousClock()
                let frozen = clock.now
                levee.signal(SIGSTOP)
                // Frozen until serf suspects it (a failed probe round), well within the 4 s suspicion
                // timeout.
                let suspectLine = "Suspect cli-3 has failed"
                var suspectedAt: ContinuousClock.Instant?
                while clock.now - frozen < .milliseconds(3500) {
                    try await look()
                    if agent.log().contains(suspectLine) {
                        suspectedAt = clock.now
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                levee.signal(SIGCONT)
                let frozenFor = clock.now - frozen
                #expect(suspectedAt != nil, "serf never suspected the frozen process:\n\(agent.log())")

                // Watch the whole suspicion timeout from the suspicion and more: never failed.
                let watchUntil = (suspectedAt ?? clock.now) + Self.suspicionTimeout + .milliseconds(1500)
                while clock.now < watchUntil {
                    try await look()
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await look()
                #expect(statuses == ["alive"], "serf listed cli-3 as \(statuses)")
                #expect(!agent.log().contains("Marking cli-3 as failed"), "\(agent.log())")
                #expect(try await agent.members().first { $0.name == "cli-3" }?.status == "alive")
                #expect(levee.exit == nil, "\(levee.transcript())")
                // It refuted: it printed no failure, of itself or of the agent it could not hear.
                let failures = levee.events.filter { $0["event"] == "member-failed" }
                #expect(failures.isEmpty, "\(levee.transcript())")
                print(
                    "gossip-member 3: serf suspected the frozen process after \((suspectedAt ?? frozen) - frozen), "
                        + "frozen \(frozenFor); statuses seen \(statuses.sorted())"
                )
            }
        }
    }

    @Test("4. Levee process + serf agent: a brief SIGSTOP of serf is never a failure; SIGKILL is, within bounds")
    func processDetectsTheAgent() async throws {
        try await withSerfAgent(name: "serf-cli-4") { agent in
            try await withLeveeMember(name: "cli-4", join: [agent.bindAddress]) { levee in
                #expect(try await levee.waitFor("member-joined", member: "serf-cli-4", within: .seconds(5)) != nil)
                _ = try await agent.waitForMember("cli-4") { $0.status == "alive" }

                // Frozen for two probe rounds: the process's probes of it fail and it suspects the
                // agent, well within the 4 s suspicion timeout.
                await agent.signal(SIGSTOP)
                try await Task.sleep(for: Self.lan.probeInterval * 2)
                await agent.signal(SIGCONT)
                let failedEarly = try await levee.first(within: Self.suspicionTimeout + .seconds(1)) {
                    $0["event"] == "member-failed"
                }
                #expect(failedEarly == nil, "\(levee.transcript())")
                _ = try await agent.waitForMember("cli-4") { $0.status == "alive" }

                let clock = ContinuousClock()
                let killed = clock.now
                await agent.signal(SIGKILL)
                let failed = try await levee.waitFor("member-failed", member: "serf-cli-4", within: Self.failureBound)
                let failedAfter = clock.now - killed
                #expect(failed?["status"] == "failed", "\(failed ?? [:])")
                #expect(failedAfter >= Self.suspicionTimeout, "failed after \(failedAfter)")
                print(
                    "gossip-member 4: the process printed the killed agent failed after \(failedAfter) (bound \(Self.failureBound))"
                )
            }
        }
    }

    @Test(
        "5. bad flags exit non-zero naming the problem",
        arguments: [
            (["--profile", "fast"], "--profile must be lan, wan or local, not fast"),
            (["--name", ""], "gossip.name"),
            (["--encrypt-key", "not-a-key"], "gossip.encrypt_key"),
            (["--tag", "=v"], "--tag takes key=value, not =v"),
            (["--join", "127.0.0.1"], "gossip.join[0]"),
        ]
    )
    func badFlags(flags: [String], problem: String) async throws {
        var arguments = ["gossip-member", "--name", "cli-5", "--bind", "127.0.0.1:0"]
        // A later --name wins, so that the empty one is what the command sees.
        arguments += flags
        let result = try await ChildProcess.run(try CommandRunner.leveeExecutable(), arguments, timeout: .seconds(10))
        #expect(result.status != 0 && result.status != SIGTERM, "exit \(result.status)")
        #expect(result.standardError.contains(problem), "\(result.output)")
        #expect(!result.standardOutput.contains("\"ready\""), "\(result.output)")
    }

    @Test("5. a port already taken (TCP or UDP) exits non-zero naming the address", arguments: [true, false])
    func portTaken(tcp: Bool) async throws {
        let taken = try LoopbackSocket(tcp ? .tcp : .udp, port: 0)
        let address = "127.0.0.1:\(taken.port)"
        let result = try await ChildProcess.run(
            try CommandRunner.leveeExecutable(),
            ["gossip-member", "--name", "cli-5-port", "--bind", address],
            timeout: .seconds(10)
        )
        #expect(result.status != 0 && result.status != SIGTERM, "exit \(result.status)")
        #expect(result.standardError.contains(address), "\(result.output)")
        #expect(result.standardError.lowercased().contains("in use"), "\(result.output)")
        withExtendedLifetime(taken) {}
    }
}
