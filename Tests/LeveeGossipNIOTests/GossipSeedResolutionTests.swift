import LeveeGossip
import LeveeGossipNIO
import Testing

/// `gossip.join` by DNS name: a Kubernetes headless Service name stands for one address per pod, so a
/// seed written as a name is joined at every address it resolves to (memberlist `resolveAddr`).
@Suite(.serialized)
struct GossipSeedResolutionTests {
    @Test("a host name resolves to each of its addresses once, with the seed's port")
    func nameResolvesToEveryAddress() throws {
        let addresses = try GossipSeed("localhost:7946").resolveAll()
        #expect(addresses.contains(NodeAddress(ip: [127, 0, 0, 1], port: 7946)!), "\(addresses)")
        #expect(Set(addresses).count == addresses.count, "repeated: \(addresses)")
        #expect(addresses.allSatisfy { $0.port == 7946 })
        #expect(try GossipSeed("10.1.2.3:7000").resolveAll() == [NodeAddress(ip: [10, 1, 2, 3], port: 7000)!])
    }

    @Test("a name that does not resolve says which")
    func unresolvableName() {
        #expect {
            try GossipSeed("levee-peers.invalid:7946").resolveAll()
        } throws: { error in
            "\(error)".contains("levee-peers.invalid")
        }
    }

    @Test("a node joins another through a host name, as through a headless Service")
    func joinByName() async throws {
        try await withGossipNode(.loopback("named-a", profile: .lan)) { a in
            try await withGossipNode(.loopback("named-b", profile: .lan)) { b in
                let port = try #require(try await a.address().split(separator: ":").last)
                #expect(try await b.node.join(["localhost:\(port)"]) == 1)
                #expect(try await a.waitForMember("named-b", status: .alive))
                #expect(try await b.waitForMember("named-a", status: .alive))
            }
        }
    }
}
