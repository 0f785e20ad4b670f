import LeveeConfiguration
import LeveePolicy
import Testing

@Suite("built-in defaults")
struct BuiltInConfigurationTests {
    @Test func socketsInXDGRuntimeDirectory() {
        let configuration = AgentConfiguration.builtIn(environment: ["XDG_RUNTIME_DIR": "/run/user/1000"], uid: 1000)
        #expect(configuration.listen.socket == "/run/user/1000/levee/levee.sock")
        #expect(configuration.listen.adminSocket == "/run/user/1000/levee/admin.sock")
    }

    @Test func socketsInTmpWithoutXDGRuntimeDirectory() {
        let configuration = AgentConfiguration.builtIn(environment: ["HOME": "/home/u"], uid: 501)
        #expect(configuration.listen.socket == "/tmp/levee-501/levee.sock")
        #expect(configuration.listen.adminSocket == "/tmp/levee-501/admin.sock")
    }

    @Test(arguments: [
        ("/run/user/7/", "/run/user/7/levee/levee.sock"),
        ("relative/dir", "/tmp/levee-7/levee.sock"),
        ("", "/tmp/levee-7/levee.sock"),
        ("/" + String(repeating: "d", count: 100), "/tmp/levee-7/levee.sock"),
    ])
    func unusableRuntimeDirectoriesFallBack(runtime: String, socket: String) {
        let configuration = AgentConfiguration.builtIn(environment: ["XDG_RUNTIME_DIR": runtime], uid: 7)
        #expect(configuration.listen.socket == socket)
    }

    @Test func everythingElse() {
        let configuration = AgentConfiguration.builtIn(environment: [:], uid: 0)
        #expect(configuration.service == "levee")
        #expect(configuration.defaults == .builtIn)
        #expect(configuration.defaults.policy == .defaults)
        #expect(configuration.upstreams.isEmpty)
        #expect(configuration.dynamicUpstreams)
        #expect(configuration.gossip == nil)
        #expect(configuration.sourcePath == nil)
    }

    /// An empty file is the defaults, but from a file: dynamic upstreams are off, the path is kept.
    @Test(arguments: ["", "# nothing\n", "---\n", "~\n"])
    func emptyFile(yaml: String) throws {
        let configuration = try parse(yaml, environment: ["XDG_RUNTIME_DIR": "/run/user/1000"])
        #expect(configuration.listen.socket == "/run/user/1000/levee/levee.sock")
        #expect(configuration.dynamicUpstreams == false)
        #expect(configuration.sourcePath == "levee.yaml")
        #expect(configuration.upstreams.isEmpty)
    }

    @Test func listenKeysOverrideOneAtATime() throws {
        let configuration = try parse("listen:\n  admin_socket: /var/run/levee-admin.sock\n")
        #expect(
            configuration.listen
                == ListenConfiguration(socket: "/tmp/levee-1000/levee.sock", adminSocket: "/var/run/levee-admin.sock")
        )
    }

    @Test func httpListener() throws {
        #expect(try parse("service: x\n").listen.http == "127.0.0.1:9901")
        #expect(try parse("listen:\n  http: off\n").listen.http == nil)
        #expect(try parse("listen:\n  http: 127.0.0.1:0\n").listen.http == "127.0.0.1:0")
        #expect(try parse("listen:\n  http: \"[::1]:9100\"\n").listen.http == "[::1]:9100")
        #expect(AgentConfiguration.builtIn(environment: [:], uid: 0).listen.http == ListenConfiguration.defaultHTTP)
    }

    @Test("listen.proxy, listen.proxy_socket and listen.max_request_body: defaults, values, and errors naming the key")
    func proxyListener() throws {
        let defaults = try parse("service: x\n").listen
        #expect(defaults.proxy == "127.0.0.1:9902")
        #expect(defaults.proxySocket == nil)
        #expect(defaults.limits.maxRequestBody == 1 << 20)
        #expect(AgentConfiguration.builtIn(environment: [:], uid: 0).listen.proxy == ListenConfiguration.defaultProxy)
        #expect(try parse("listen:\n  proxy: off\n").listen.proxy == nil)
        #expect(try parse("listen:\n  proxy: 127.0.0.1:0\n").listen.proxy == "127.0.0.1:0")
        #expect(
            try parse("listen:\n  proxy_socket: /run/levee/proxy.sock\n").listen.proxySocket == "/run/levee/proxy.sock"
        )
        for (text, bytes) in [
            ("4096", 4096), ("512KiB", 512 << 10), ("2MiB", 2 << 20), ("64KB", 64_000), ("1 MiB", 1 << 20),
        ] {
            #expect(try parse("listen:\n  max_request_body: \(text)\n").listen.limits.maxRequestBody == bytes)
        }
        let badProxy = try #require(parseError("listen:\n  proxy: nowhere\n"))
        #expect("\(badProxy)".contains("listen.proxy"))
        #expect("\(badProxy)".contains("host:port such as 127.0.0.1:9902, or off"))
        let relative = try #require(parseError("listen:\n  proxy_socket: proxy.sock\n"))
        #expect("\(relative)".contains("listen.proxy_socket"))
        let clash = try #require(parseError("listen:\n  socket: /tmp/a.sock\n  proxy_socket: /tmp/a.sock\n"))
        #expect("\(clash)".contains("a path other than listen.socket's"))
        for bad in ["0", "-5", "lots", "2GiB", "1.5MiB"] {
            let error = try #require(parseError("listen:\n  max_request_body: \(bad)\n"), "\(bad) was accepted")
            #expect("\(error)".contains("listen.max_request_body"))
        }
    }

    @Test("listen.guard_server: core by default, grpc_swift (or grpc-swift) on request, anything else named")
    func guardServer() throws {
        #expect(try parse("service: x\n").listen.guardServer == .core)
        #expect(AgentConfiguration.builtIn(environment: [:], uid: 0).listen.guardServer == .core)
        #expect(try parse("listen:\n  guard_server: grpc_swift\n").listen.guardServer == .grpcSwift)
        #expect(try parse("listen:\n  guard_server: grpc-swift\n").listen.guardServer == .grpcSwift)
        let bad = try #require(parseError("listen:\n  guard_server: nginx\n"))
        #expect("\(bad)".contains("listen.guard_server"))
        #expect("\(bad)".contains("one of grpc_swift, core"))
    }

    @Test func emptyGossipSectionTakesDefaults() throws {
        #expect(try parse("gossip:\n").gossip == .defaults)
        #expect(try parse("service: x\n").gossip == nil)
    }

    @Test func gossipSection() throws {
        let gossip = try #require(
            try parse(
                """
                gossip:
                  name: node-1
                  bind: 127.0.0.1
                  advertise: "[fe80::1]:7000"
                  join: [10.0.0.2, "10.0.0.3:8000", "[::1]"]
                  encrypt_key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
                  profile: wan
                  share: follow
                  quorum: 3
                  suspect_after: 8
                """
            ).gossip
        )
        #expect(
            gossip
                == GossipConfiguration(
                    name: "node-1",
                    bind: "127.0.0.1:7946",
                    advertise: "[fe80::1]:7000",
                    join: ["10.0.0.2:7946", "10.0.0.3:8000", "[::1]:7946"],
                    encryptKey: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                    profile: "wan",
                    share: "follow",
                    quorum: 3,
                    suspectAfter: 8
                )
        )
        #expect(gossip.encryptKeyBytes == Array(0..<32))
    }

    /// A key that an editor wrapped, or that a file with CRLF line ends split, decodes as serf and the
    /// gossip pool read it (Go's `base64.StdEncoding` skips `\r` and `\n`).
    @Test(arguments: [
        "gossip:\n  encrypt_key: \"AAECAwQFBgcICQoL\\r\\nDA0ODw==\"\n",
        "gossip:\n  encrypt_key: |\n    AAECAwQFBgcICQoL\n    DA0ODw==\n",
    ])
    func encryptKeySplitByLineBreaks(yaml: String) throws {
        let gossip = try #require(try parse(yaml).gossip)
        #expect(gossip.encryptKeyBytes == Array(0..<16))
    }

    @Test func suspicionIsOnByDefaultAndZeroTurnsItOff() throws {
        #expect(try parse("gossip: {}\n").gossip?.suspectAfter == 5)
        #expect(try parse("gossip: { suspect_after: 0 }\n").gossip?.suspectAfter == 0)
    }

    @Test func bindMayUsePortZero() throws {
        #expect(try parse("gossip: { bind: \"127.0.0.1:0\" }\n").gossip?.bind == "127.0.0.1:0")
    }
}
