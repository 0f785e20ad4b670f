import Foundation
import LeveeTestKit
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

#if canImport(Glibc)
import Glibc
#endif

/// `levee chaos run` as an operator types it, against `levee agent` run as a child process.
@Suite(.timeLimit(.minutes(2)))
struct ChaosCommandTests {
    static func agent() async throws -> (AgentProcess, TestHTTPServer) {
        let payments = try await TestHTTPServer.start()
        payments.behaviour = .respond(status: 200, body: "ok")
        let agent = try await AgentProcess.start(
            yaml: """
                chaos: { enabled: true }
                upstreams:
                  payments:
                    endpoints: ["\(payments.address)"]
                """
        )
        return (agent, payments)
    }

    static func write(_ yaml: String, in agent: AgentProcess, name: String = "experiment.yaml") throws -> String {
        let path = "\(agent.directory)/\(name)"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A steady state that needs no traffic: every level is allowed.
    static func experiment(for duration: String) -> String {
        """
        name: quick
        hypothesis: the service keeps some level while payments fails
        steady_state:
          - service_level: [FULL, DEGRADED, MINIMAL]
        method:
          - fault: { upstream: payments, abort: 503 }
            for: \(duration)
        recover_within: 5s
        """
    }

    @Test("held: exit 0, the timeline and the checks printed, --json and --report FILE.svg written")
    func held() async throws {
        let (agent, _) = try await Self.agent()
        let file = try Self.write(Self.experiment(for: "1s"), in: agent)
        let text = try await agent.levee("chaos", "run", file)
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("fault f"))
        #expect(text.standardOutput.contains("verdict: HELD"))
        #expect(text.standardOutput.contains("service level in FULL, DEGRADED, MINIMAL"))

        let svg = "\(agent.directory)/chart.svg"
        let json = try await agent.levee("chaos", "run", file, "--json", "--report", svg)
        #expect(json.status == 0, "\(json.standardError)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        )
        #expect(object["verdict"] as? String == "held")
        #expect((object["faults"] as? [Any])?.count == 1)
        let chart = try #require(FileManager.default.contents(atPath: svg))
        let parser = XMLParser(data: chart)
        #expect(parser.parse(), "the chart is not well-formed XML: \(String(describing: parser.parserError))")
        #expect(String(decoding: chart, as: UTF8.self).contains("<polyline"))
    }

    @Test("not_steady exits 1; a bad file exits 2 naming the key path")
    func notHeld() async throws {
        let (agent, _) = try await Self.agent()
        let strict = try Self.write(
            """
            name: strict
            steady_state:
              - upstream: payments
                min_calls: 1000
            method:
              - fault: { upstream: payments, abort: 503 }
                for: 1s
            """,
            in: agent
        )
        let result = try await agent.levee("chaos", "run", strict)
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("NOT_STEADY"))

        let bad = try Self.write(
            "name: bad\nsteady_state: [{ upstream: payments, errors_below: 2 }]\nmethod: []",
            in: agent,
            name: "bad.yaml"
        )
        let invalid = try await agent.levee("chaos", "run", bad)
        #expect(invalid.status == 2)
        #expect(invalid.standardError.contains("bad.yaml"))
        #expect(invalid.standardError.contains("steady_state[0].errors_below"))
    }

    @Test("Ctrl-C stops the experiment and the agent removes its fault")
    func interruptClears() async throws {
        let (agent, _) = try await Self.agent()
        let file = try Self.write(Self.experiment(for: "60s"), in: agent)
        let child = try RunningChild.start(
            try CommandRunner.leveeExecutable(),
            ["chaos", "run", file, "--socket", agent.socket, "--admin-socket", agent.adminSocket],
            stem: "chaos"
        )
        let faultOn = try await eventually(within: .seconds(10)) { child.standardOutput.contains("fault f") }
        #expect(faultOn, "\(child.standardOutput)\(child.standardError)")
        let listed = try await agent.levee("fault", "list")
        #expect(listed.standardOutput.contains("experiment quick"))
        child.signal(SIGINT)
        #expect(await child.waitForExit(within: .seconds(10)) == 130)
        let cleared = try await eventually(within: .seconds(5)) {
            let list = try await agent.levee("fault", "list", "--json")
            return !list.standardOutput.contains("experiment quick")
        }
        #expect(cleared)
    }
}
