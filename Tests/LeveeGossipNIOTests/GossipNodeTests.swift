import LeveeGossip
import LeveeGossipNIO
import LeveePolicy
import Logging
import ServiceLifecycle
import Testing

/// Levee nodes alone, in process on loopback, no serf.
///
/// These use the LAN profile, not `local`: `local` retires a broadcast after 2 sends
/// (`RetransmitMult` 2 × ⌈log10(n+1)⌉ for n = 3), and since piggybacked sends count too, both can go to
/// the node the news is about, leaving the third member to learn it only at the next push/pull
/// (15 s). That is memberlist's behaviour, faithfully reproduced, but it made these checks flaky; the
/// LAN profile sends 4 times, and the checks below still finish in about a second.
@Suite(.serialized)
struct GossipNodeTests {
    @Test("three nodes join through one another and all see a user event")
    func threeNodesExchangeAUserEvent() async throws {
        try await withGossipNode(.loopback("levee-a", profile: .lan, tags: ["role": "a"])) { a in
            try await withGossipNode(.loopback("levee-b", profile: .lan)) { b in
                try await withGossipNode(.loopback("levee-c", profile: .lan)) { c in
                    #expect(try await b.node.join([try await a.address()]) == 1)
                    #expect(try await c.node.join([try await b.address()]) == 1)
                    for running in [a, b, c] {
                        for name in ["levee-a", "levee-b", "levee-c"] {
                            #expect(try await running.waitForMember(name, status: .alive), "\(name) at \(running)")
                        }
                    }
                    #expect(c.node.member(named: "levee-a")?.tags == ["role": "a"])

                    try c.node.sendUserEvent(name: "deploy", payload: Array("v1".utf8))
                    for running in [a, b] {
                        let event = try await running.log.first(within: .seconds(5)) {
                            $0 == .userEvent(name: "deploy", payload: Array("v1".utf8), coalesce: false)
                        }
                        #expect(event != nil, "\(running.node.configuration.name): \(running.node.counters)")
                    }
                    for running in [a, b, c] {
                        #expect(running.node.counters.transport.packetDecodeFailures == 0)
                    }
                }
            }
        }
    }

    @Test("a node that leaves is seen as left, not failed")
    func leave() async throws {
        try await withGossipNode(.loopback("stay", profile: .lan)) { stay in
            try await withGossipNode(.loopback("go", profile: .lan)) { go in
                try await go.node.join([try await stay.address()])
                #expect(try await stay.waitForMember("go", status: .alive))
                await go.node.leave()
                #expect(try await stay.waitForMember("go", status: .left, within: .seconds(5)))
                #expect(!stay.log.sawFailure(of: "go"))
            }
        }
    }

    @Test("a join to nobody fails and says so")
    func joinNobody() async throws {
        try await withGossipNode(.loopback("alone", profile: .lan)) { alone in
            await #expect(throws: GossipNodeError.self) {
                try await alone.node.join(["127.0.0.1:1"])
            }
            #expect(alone.node.members.map(\.name) == ["alone"])
        }
    }

    @Test("configuration errors name the key")
    func configurationErrors() {
        func keyPath(_ configuration: GossipNodeConfiguration) -> String? {
            do {
                try configuration.validate()
                return nil
            } catch {
                return error.keyPath
            }
        }
        #expect(keyPath(.loopback("ok")) == nil)
        #expect(keyPath(.loopback("")) == "gossip.name")
        #expect(keyPath(GossipNodeConfiguration(name: "n", bindHost: "nowhere")) == "gossip.bind")
        #expect(keyPath(GossipNodeConfiguration(name: "n")) == "gossip.advertise")
        #expect(keyPath(.loopback("n", encryptKey: "c2hvcnQ=")) == "gossip.encrypt_key")
        var seeds = GossipNodeConfiguration.loopback("n")
        seeds.join = ["10.0.0.1"]
        #expect(keyPath(seeds) == "gossip.join[0]")
        #expect(throws: GossipNodeError.self) { try GossipNode(configuration: .loopback("")) }
    }

    @Test("seeds parse as host:port, [v6]:port or name/host:port")
    func seeds() throws {
        #expect(try GossipSeed("127.0.0.1:7946") == GossipSeed("alpha/127.0.0.1:7946"))
        #expect(try GossipSeed("[::1]:7946").host == "::1")
        #expect(throws: GossipNodeError.self) { try GossipSeed("127.0.0.1") }
        #expect(throws: GossipNodeError.self) { try GossipSeed("127.0.0.1:0") }
        // A bind address may take port 0 (any free port); a seed may not.
        let anyPort = try GossipSeed.bindAddress("127.0.0.1:0")
        #expect(anyPort.host == "127.0.0.1" && anyPort.port == 0)
        #expect(try GossipSeed.bindAddress("[::1]:0").host == "::1")
        #expect(throws: GossipNodeError.self) { try GossipSeed.bindAddress("127.0.0.1:65536") }
    }
}

@Suite struct GossipNodeShutdownTests {
    /// SIGTERM reaches a node as a graceful shutdown of its ServiceGroup; the node leaves the pool
    /// before it stops, so its peers record `left`, not a failure (`leaveOnShutdown`, the default).
    @Test("a graceful shutdown of the ServiceGroup leaves the pool: peers see left, not failed")
    func gracefulShutdownLeaves() async throws {
        try await withGossipNode(.loopback("stays", profile: .lan)) { stays in
            let goes = try GossipNode(configuration: .loopback("goes", profile: .lan))
            let group = ServiceGroup(
                configuration: .init(services: [goes], gracefulShutdownSignals: [], logger: Logger(label: "test"))
            )
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await goes.join([try await stays.address()])
                #expect(try await stays.waitForMember("goes", status: .alive))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(try await stays.waitForMember("goes", status: .left, within: .seconds(5)))
            #expect(!stays.log.sawFailure(of: "goes"))
        }
    }
}
