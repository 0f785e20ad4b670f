import Foundation
import LeveeGossip
import LeveeGossipNIO
import LeveePolicy
import LeveeTestKit
import NIOCore
import Testing

/// `GossipNode` in one pool with real `serf agent` processes (serf 0.9.4, Debian) on 127.0.0.1
/// (memberlist-serf-wire.md §5). Every agent and node is stopped however a test ends. Serialized:
/// failure-detection timing is what is under test, and the machines have two cores.
@Suite(.serialized)
struct GossipNodeSerfTests {
    static let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    static let wrongKey = Keyring.encodeKey((0..<32).map { UInt8(0xA0 + $0) })

    /// The longest a LAN pool of two may take to declare a crashed member failed: a probe round
    /// (interval, then the probe's own interval for indirect and TCP checks), the minimum suspicion
    /// timeout `suspicionMult × max(1, log10 n) × probeInterval` (no confirmations are possible
    /// with two), plus a margin for gossip and a busy machine.
    static var failureBound: Duration {
        let settings = MembershipSettings.lan
        return settings.probeInterval * 2 + settings.probeInterval * settings.suspicionMult + .seconds(4)
    }

    @Test("1. Levee joins serf: both list each other alive, with the node's tags")
    func leveeJoinsSerf() async throws {
        try await withSerfAgent(name: "serf-1") { agent in
            try await withGossipNode(.loopback("levee-1", tags: ["role": "sidecar", "zone": "a"])) { levee in
                #expect(try await levee.node.join([agent.bindAddress]) == 1)
                let seen = try await agent.waitForMember("levee-1") { $0.status == "alive" }
                #expect(seen.tags == ["role": "sidecar", "zone": "a"])
                #expect(try await levee.waitForMember("serf-1", status: .alive))
            }
        }
    }

    @Test("2. serf joins Levee: `serf join` makes both list each other alive")
    func serfJoinsLevee() async throws {
        try await withSerfAgent(name: "serf-2") { agent in
            try await withGossipNode(.loopback("levee-2", tags: ["role": "sidecar"])) { levee in
                try await agent.join(try await levee.address())
                let seen = try await agent.waitForMember("levee-2") { $0.status == "alive" }
                #expect(seen.tags == ["role": "sidecar"])
                #expect(try await levee.waitForMember("serf-2", status: .alive))
            }
        }
    }

    @Test("3. two serf agents and one Levee node converge alive")
    func threeMembers() async throws {
        try await withSerfAgent(name: "serf-3a") { first in
            try await withSerfAgent(name: "serf-3b") { second in
                try await withGossipNode(.loopback("levee-3")) { levee in
                    try await levee.node.join([first.bindAddress])
                    try await second.join(try await levee.address())
                    for agent in [first, second] {
                        for name in ["serf-3a", "serf-3b", "levee-3"] {
                            _ = try await agent.waitForMember(name) { $0.status == "alive" }
                        }
                    }
                    for name in ["serf-3a", "serf-3b"] {
                        #expect(try await levee.waitForMember(name, status: .alive))
                    }
                }
            }
        }
    }

    @Test("4. user events both ways: `serf event` reaches the node, the node's event runs serf's handler")
    func userEvents() async throws {
        let output = NSTemporaryDirectory() + "levee-event-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let handler = "user:levee-deploy=cat >> \(output)"
        try await withSerfAgent(name: "serf-4", extraArguments: ["-event-handler=\(handler)"]) { agent in
            try await withGossipNode(.loopback("levee-4")) { levee in
                try await levee.node.join([agent.bindAddress])
                _ = try await agent.waitForMember("levee-4") { $0.status == "alive" }

                try await agent.sendEvent("serf-deploy", payload: "v1.2.3")
                let received = try await levee.log.first(within: .seconds(5)) {
                    $0 == .userEvent(name: "serf-deploy", payload: Array("v1.2.3".utf8), coalesce: false)
                }
                #expect(received != nil)

                try levee.node.sendUserEvent(name: "levee-deploy", payload: Array("v9".utf8))
                let handled = try await eventually(within: .seconds(5)) {
                    // serf ends the payload on the handler's stdin with a newline.
                    (try? String(contentsOfFile: output, encoding: .utf8)) == "v9\n"
                }
                #expect(
                    handled,
                    "handler output: \(String(reflecting: try? String(contentsOfFile: output, encoding: .utf8)))"
                )
            }
        }
    }

    @Test("5. `serf reachability` passes with the node in the pool, and `serf query` gets its ack and answer")
    func reachabilityAndQuery() async throws {
        try await withSerfAgent(name: "serf-5") { agent in
            try await withGossipNode(.loopback("levee-5")) { levee in
                try await levee.node.join([agent.bindAddress])
                _ = try await agent.waitForMember("levee-5") { $0.status == "alive" }
                let reachability = try await agent.reachability()
                #expect(reachability.contains("Successfully contacted all live nodes"), "\(reachability)")

                // Answer the query as soon as it shows up in the node's events.
                async let answered: Bool = {
                    guard
                        case .query(let query)? = try await levee.log.first(
                            within: .seconds(5),
                            where: {
                                if case .query = $0 { true } else { false }
                            }
                        )
                    else { return false }
                    try levee.node.respond(to: query, payload: Array("levee here".utf8))
                    return true
                }()
                let output = try await agent.query("whoami", payload: "hi")
                #expect(try await answered)
                #expect(output.contains("Ack from 'levee-5'"), "\(output)")
                #expect(output.contains("Response from 'levee-5': levee here"), "\(output)")
            }
        }
    }

    @Test("6. an encrypted pool works; a node with the wrong key cannot join and never shows alive")
    func encryption() async throws {
        try await withSerfAgent(name: "serf-6", encryptKey: Self.key) { agent in
            try await withGossipNode(.loopback("levee-6", encryptKey: Self.key)) { levee in
                try await levee.node.join([agent.bindAddress])
                _ = try await agent.waitForMember("levee-6") { $0.status == "alive" }
                #expect(try await levee.waitForMember("serf-6", status: .alive))
                #expect(agent.log().contains("levee-6"))
            }
            try await withGossipNode(.loopback("levee-6-wrong", encryptKey: Self.wrongKey)) { wrong in
                await #expect(throws: GossipNodeError.self) {
                    try await wrong.node.join([agent.bindAddress])
                }
                #expect(wrong.node.counters.exchangeFailures >= 1)
                #expect(wrong.node.member(named: "serf-6") == nil)
                let members = try await agent.members()
                #expect(!members.contains { $0.name == "levee-6-wrong" })
            }
        }
    }

    @Test("7a. a crashed (SIGKILL) agent is declared failed within LAN bounds")
    func crashedAgentFails() async throws {
        try await withSerfAgent(name: "serf-7a") { agent in
            try await withGossipNode(.loopback("levee-7a")) { levee in
                try await levee.node.join([agent.bindAddress])
                #expect(try await levee.waitForMember("serf-7a", status: .alive))
                let clock = ContinuousClock()
                let killed = clock.now
                await agent.signal(SIGKILL)
                #expect(try await levee.waitForMember("serf-7a", status: .failed, within: Self.failureBound))
                let failedAfter = clock.now - killed
                #expect(failedAfter >= MembershipSettings.lan.probeInterval * 4, "failed after \(failedAfter)")
            }
        }
    }

    @Test("7b. an agent frozen (SIGSTOP) for less than the suspicion timeout refutes and is never failed")
    func frozenAgentRefutes() async throws {
        try await withSerfAgent(name: "serf-7b") { agent in
            try await withGossipNode(.loopback("levee-7b")) { levee in
                try await levee.node.join([agent.bindAddress])
                #expect(try await levee.waitForMember("serf-7b", status: .alive))
                await agent.signal(SIGSTOP)
                // Frozen until the node suspects it (a failed probe round), well within the 4 s
                // suspicion timeout.
                let suspected = try await eventually(within: .seconds(4)) {
                    levee.node.counters.membership.suspicions >= 1
                }
                await agent.signal(SIGCONT)
                #expect(suspected)
                // Watch for a whole suspicion timeout and more: never failed.
                let settings = MembershipSettings.lan
                let window = settings.probeInterval * settings.suspicionMult + .seconds(2)
                let failed = try await eventually(within: window) { levee.log.sawFailure(of: "serf-7b") }
                #expect(!failed)
                #expect(levee.node.member(named: "serf-7b")?.status == .alive)
                _ = try await agent.waitForMember("levee-7b") { $0.status == "alive" }
            }
        }
    }

    @Test("7c. a Levee node that stops without leaving is declared failed by serf within LAN bounds")
    func crashedNodeFails() async throws {
        try await withSerfAgent(name: "serf-7c") { agent in
            try await withGossipNode(.loopback("levee-7c")) { levee in
                try await levee.node.join([agent.bindAddress])
                _ = try await agent.waitForMember("levee-7c") { $0.status == "alive" }
            }
            // withGossipNode cancelled run() without a leave: a crash, as far as serf can tell.
            _ = try await agent.waitForMember("levee-7c", timeout: Self.failureBound) { $0.status == "failed" }
        }
    }

    @Test("8. graceful leave: the node's leave shows `left` in serf; `serf leave` shows `left` in the node")
    func gracefulLeave() async throws {
        try await withSerfAgent(name: "serf-8a") { stays in
            try await withSerfAgent(name: "serf-8b") { leaves in
                try await withGossipNode(.loopback("levee-8")) { levee in
                    try await levee.node.join([
                        stays.bindAddress, leaves.bindAddress,
                    ])
                    _ = try await stays.waitForMember("levee-8") { $0.status == "alive" }
                    #expect(try await levee.waitForMember("serf-8b", status: .alive))

                    try await leaves.leave()
                    #expect(try await levee.waitForMember("serf-8b", status: .left, within: .seconds(5)))
                    #expect(!levee.log.sawFailure(of: "serf-8b"))

                    await levee.node.leave()
                    _ = try await stays.waitForMember("levee-8", timeout: .seconds(5)) { $0.status == "left" }
                }
            }
        }
    }
}
