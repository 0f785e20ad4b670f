import LeveeConfiguration
import LeveePolicy
import Testing

@Suite("dynamic upstreams")
struct DynamicUpstreamTests {
    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1:8080", EndpointAddress(host: "127.0.0.1", port: 8080)),
        ("localhost:80", "localhost:80", EndpointAddress(host: "localhost", port: 80)),
        ("[::1]:9000", "[::1]:9000", EndpointAddress(host: "::1", port: 9000)),
        ("[::1]:09000", "[::1]:9000", EndpointAddress(host: "::1", port: 9000)),
    ])
    func builtInAcceptsHostPort(name: String, canonical: String, address: EndpointAddress) throws {
        let configuration = AgentConfiguration.builtIn(environment: [:], uid: 0)
        let upstream = try #require(configuration.dynamicUpstream(named: name, protocolKind: .grpc))
        #expect(upstream.name == canonical)
        #expect(upstream.endpoints == [address])
        #expect(upstream.protocolKind == .grpc)
        #expect(upstream.isDynamic)
        #expect(upstream.policy == .defaults)
        #expect(upstream.fallback == .none)
        #expect(upstream.discover == nil)
    }

    @Test(arguments: ["payments", "localhost", "127.0.0.1:0", "::1:80", "host:http", "a b:80", "", ":80"])
    func notAnAddress(name: String) {
        let configuration = AgentConfiguration.builtIn(environment: [:], uid: 0)
        #expect(configuration.dynamicUpstream(named: name, protocolKind: .http) == nil)
    }

    @Test func offByDefaultInAFile() throws {
        let configuration = try parse(minimalUpstream)
        #expect(configuration.dynamicUpstreams == false)
        #expect(configuration.dynamicUpstream(named: "127.0.0.1:8080", protocolKind: .http) == nil)
    }

    @Test func theFileDefaultsApply() throws {
        let configuration = try parse(
            """
            dynamic_upstreams: true
            defaults:
              protocol: grpc
              tls: true
              discover: someone
              endpoints: ["10.0.0.1:1"]
              breaker: { min_calls: 7 }
              fallback: { static: { status: 503 } }
            """
        )
        let upstream = try #require(configuration.dynamicUpstream(named: "10.1.2.3:443", protocolKind: .http))
        #expect(upstream.name == "10.1.2.3:443")
        #expect(upstream.protocolKind == .http)
        #expect(upstream.tls)
        #expect(upstream.endpoints == [EndpointAddress(host: "10.1.2.3", port: 443)])
        #expect(upstream.discover == nil)
        #expect(upstream.policy.breaker.minCalls == 7)
        #expect(upstream.fallback.static?.status == 503)
        #expect(upstream.isDynamic)
    }
}

@Suite("endpoint addresses")
struct EndpointAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8081", "127.0.0.1", 8081),
        ("payments.internal:443", "payments.internal", 443),
        ("_svc.example:1", "_svc.example", 1),
        ("[::1]:80", "::1", 80),
        ("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535),
    ])
    func parses(text: String, host: String, port: Int) throws {
        let address = try #require(EndpointAddress(parsing: text))
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == text)
    }

    @Test(arguments: [
        "", ":", "host", "host:", ":80", "host:0", "host:65536", "host:-1", "host:+80", "host:8o", "host:123456",
        "::1:80", "[::1]", "[::1]80", "[]:80", "[1.2.3.4]:80", "a b:80", "héllo:80", "host:80/path", "[::1]:80]",
    ])
    func rejects(text: String) {
        #expect(EndpointAddress(parsing: text) == nil)
    }
}
