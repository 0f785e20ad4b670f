import Foundation
import LeveeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `levee agent` under `Type=notify`: a datagram socket stands in for systemd, and the agent is
/// started with `NOTIFY_SOCKET` (and `WATCHDOG_USEC`) as systemd starts it.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SystemdNotifyTests {
    /// Starts the agent with `environment` added to this process's, via env(1).
    static func start(environment: [String], config: String) throws -> RunningChild {
        try RunningChild.start(
            "/usr/bin/env",
            environment + [try CommandRunner.leveeExecutable(), "agent", "--config", config, "--log-level", "notice"],
            stem: "notify-agent"
        )
    }

    @Test(
        "READY=1 once it serves, WATCHDOG=1 every half WATCHDOG_USEC, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM"
    )
    func notifyLifecycle() async throws {
        let (directory, config, socket, _) = try AgentProcess.makeConfig(
            """
            upstreams:
              payments: { endpoints: ["127.0.0.1:8081"] }
            """
        )
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let systemd = try NotifySocket(path: "\(directory)/notify.sock")
        let startedAt = SystemdNotifierClock.now()
        let agent = try Self.start(
            environment: ["NOTIFY_SOCKET=\(systemd.name)", "WATCHDOG_USEC=200000"],
            config: config
        )
        defer { agent.signal(SIGKILL) }

        #expect(
            try await eventually(within: .seconds(20)) { systemd.messages.contains("READY=1") },
            "\(agent.standardError)"
        )
        #expect(AgentProcess.isAnswering(socket), "READY=1 came before the Guard socket answered")
        // 100 ms apart: a few of them come within seconds.
        #expect(
            try await eventually(within: .seconds(10)) { systemd.messages.filter { $0 == "WATCHDOG=1" }.count >= 3 }
        )

        agent.signal(SIGHUP)
        #expect(
            try await eventually(within: .seconds(15)) { systemd.messages.contains { $0.hasPrefix("RELOADING=1") } }
        )
        let messages = systemd.messages
        let reloading = try #require(messages.lastIndex { $0.hasPrefix("RELOADING=1") })
        let lines = messages[reloading].split(separator: "\n")
        #expect(lines.first == "RELOADING=1")
        let stamp = try #require(lines.dropFirst().first.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        #expect(lines.dropFirst().first?.hasPrefix("MONOTONIC_USEC=") == true)
        #expect(stamp > startedAt && stamp <= SystemdNotifierClock.now(), "\(stamp) not on CLOCK_MONOTONIC")
        #expect(
            try await eventually(within: .seconds(15)) {
                systemd.messages.dropFirst(reloading + 1).contains("READY=1")
            },
            "no READY=1 after the reload: \(systemd.messages)"
        )

        agent.signal(SIGTERM)
        #expect(try await eventually(within: .seconds(20)) { systemd.messages.contains("STOPPING=1") })
        #expect(await agent.waitForExit(within: .seconds(20)) == 0, "\(agent.standardError)")
        #expect(systemd.messages.firstIndex(of: "READY=1")! < systemd.messages.firstIndex(of: "STOPPING=1")!)
    }

    @Test("an abstract NOTIFY_SOCKET (@name) hears READY=1 and STOPPING=1; no WATCHDOG_USEC, no pings")
    func abstractSocket() async throws {
        let (directory, config, _, _) = try AgentProcess.makeConfig("")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let systemd = try NotifySocket(path: "levee-notify-\(UInt32.random(in: .min ... .max))", abstract: true)
        #expect(systemd.name.hasPrefix("@"))
        let agent = try Self.start(environment: ["NOTIFY_SOCKET=\(systemd.name)"], config: config)
        defer { agent.signal(SIGKILL) }
        #expect(
            try await eventually(within: .seconds(20)) { systemd.messages.contains("READY=1") },
            "\(agent.standardError)"
        )
        agent.signal(SIGTERM)
        #expect(await agent.waitForExit(within: .seconds(20)) == 0, "\(agent.standardError)")
        #expect(try await eventually(within: .seconds(5)) { systemd.messages.contains("STOPPING=1") })
        #expect(!systemd.messages.contains("WATCHDOG=1"), "\(systemd.messages)")
    }
}

/// CLOCK_MONOTONIC in microseconds, as systemd reads MONOTONIC_USEC.
enum SystemdNotifierClock {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1_000
    }
}
