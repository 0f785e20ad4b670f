import LeveePolicy
import Yams

extension AgentConfiguration {
    /// The top-level keys of the file.
    static let keys = [
        "service", "listen", "defaults", "dynamic_upstreams", "upstreams", "gossip", "degradation", "chaos",
    ]

    /// The largest configuration file read: far more than any real one, small enough that a wrong path
    /// (a log file, a device) fails fast.
    public static let maximumFileSize = 1 << 20

    /// Reads and parses the configuration file at `path` (see `parse(yaml:file:environment:uid:)`).
    /// Errors name `path` as given; a file that cannot be read, is larger than `maximumFileSize` or is
    /// not UTF-8 is an error with an empty key path.
    public static func load(
        contentsOf path: String,
        environment: [String: String],
        uid: UInt32
    ) throws(ConfigurationFileError) -> AgentConfiguration {
        let bytes = try ConfigurationFile.contents(of: path, limit: maximumFileSize)
        guard let yaml = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationFileError(
                file: path,
                keyPath: "",
                value: "bytes that are not UTF-8",
                expected: "a YAML file in UTF-8"
            )
        }
        return try parse(yaml: yaml, file: path, environment: environment, uid: uid)
    }

    /// Parses a configuration document. `file` is only for error messages and `sourcePath`;
    /// `environment` and `uid` give the built-in socket paths when the document does not set them.
    ///
    /// Every key is checked: an unknown key is an error that lists the valid ones, and the policy core's
    /// `validate()` runs on `defaults` and on every upstream. The first error is thrown, with its line.
    public static func parse(
        yaml: String,
        file: String,
        environment: [String: String],
        uid: UInt32
    ) throws(ConfigurationFileError) -> AgentConfiguration {
        var configuration = builtIn(environment: environment, uid: uid)
        configuration.dynamicUpstreams = false
        configuration.sourcePath = file

        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml, .basic, .default, .utf8)
        } catch {
            throw ConfigurationFileError(syntax: error, file: file, yaml: yaml)
        }
        guard let root else { return configuration }  // an empty file: the defaults, from a file
        let document = ConfigurationNode(root: root, file: file)
        if case .scalar = root, !document.isNull {
            throw document.error(expected: "a mapping with keys \(keys.joined(separator: ", "))")
        }
        let top = try document.section(keys: keys)

        if let node = top["service"] {
            configuration.service = try node.name(expected: "a service name without whitespace")
        }
        if let section = try top.section(
            "listen",
            keys: ["socket", "admin_socket", "http", "proxy", "proxy_socket", "guard_server", "allow", "admin_allow"]
                + ListenerLimits.keys
        ) {
            configuration.listen = try ListenConfiguration(decoding: section, over: configuration.listen)
        }
        try top.read("dynamic_upstreams", into: &configuration.dynamicUpstreams)

        let defaultsNode = top["defaults"]
        if let defaultsNode {
            configuration.defaults = try UpstreamDefaults(decoding: defaultsNode)
            try configuration.defaults.validate(in: defaultsNode)
        }
        if let upstreamsNode = top["upstreams"] {
            for (name, node) in try upstreamsNode.entries(expected: "a mapping of upstream name to its settings") {
                configuration.upstreams.append(try upstream(named: name, node: node, defaults: defaultsNode))
            }
            configuration.upstreams.sort { $0.name < $1.name }
        }
        if let node = top["gossip"] {
            configuration.gossip = try GossipConfiguration(decoding: node.section(keys: GossipConfiguration.keys))
        }
        if let section = try top.section("degradation", keys: ["degraded", "minimal"]) {
            let known = configuration.upstreams.map(\.name)
            configuration.degradation = DegradationRules(
                degraded: try degradationRules(section["degraded"], upstreams: known),
                minimal: try degradationRules(section["minimal"], upstreams: known)
            )
        }
        if let section = try top.section("chaos", keys: ChaosConfiguration.keys) {
            configuration.chaos = try ChaosConfiguration(decoding: section)
        }
        return configuration
    }

    /// `degradation.degraded` or `degradation.minimal`: a list of rules `{ open: [UPSTREAM, ...] }`,
    /// each naming configured upstreams.
    private static func degradationRules(
        _ node: ConfigurationNode?,
        upstreams known: [String]
    ) throws(ConfigurationFileError) -> [[String]] {
        guard let node, !node.isNull else { return [] }
        var rules: [[String]] = []
        for item in try node.list(expected: "a list of rules, each { open: [UPSTREAM, ...] }") {
            let rule = try item.section(keys: ["open"])
            guard let openNode = rule["open"] else {
                throw item.error(expected: "a rule { open: [UPSTREAM, ...] }", value: "no open key")
            }
            let names = try openNode.strings(expected: "a list of upstream names", item: "an upstream name")
            guard !names.isEmpty else {
                throw openNode.error(expected: "at least one upstream name", value: "an empty list")
            }
            for (name, nameNode) in names where !known.contains(name) {
                let listed = known.isEmpty ? "none are configured" : "one of \(known.joined(separator: ", "))"
                throw nameNode.error(
                    expected: "a configured upstream (\(listed))",
                    value: ConfigurationNode.display(name)
                )
            }
            rules.append(names.map(\.text))
        }
        return rules
    }

    /// `upstreams.NAME`, with `defaults` merged under it, checked and validated.
    private static func upstream(
        named name: String,
        node: ConfigurationNode,
        defaults: ConfigurationNode?
    ) throws(ConfigurationFileError) -> UpstreamConfiguration {
        guard ConfigurationNode.isName(name) else {
            throw node.error(
                expected: "an upstream name that is not empty and has no whitespace",
                value: ConfigurationNode.display(name)
            )
        }
        var merged = node
        if let defaults {
            merged.node = DefaultsMerge.merge(defaults.node, under: node.node)
        }
        let fields = try UpstreamDefaults(decoding: merged)
        if fields.endpoints.isEmpty && fields.discover == nil {
            let at = merged.child("endpoints", node: merged.node, line: merged.line(at: "endpoints"))
            throw at.error(expected: "at least one endpoint (host:port), or discover", value: "no endpoints")
        }
        try fields.validate(in: merged)
        return UpstreamConfiguration(
            name: name,
            protocolKind: fields.protocolKind,
            tls: fields.tls,
            endpoints: fields.endpoints,
            discover: fields.discover,
            policy: fields.policy,
            fallback: fields.fallback,
            isDynamic: false,
            tlsCAFile: fields.tlsCAFile
        )
    }
}

extension ListenConfiguration {
    init(decoding section: ConfigurationSection, over base: ListenConfiguration) throws(ConfigurationFileError) {
        self = base
        if let node = section["socket"] { socket = try Self.path(node) }
        if let node = section["admin_socket"] {
            adminSocket = try Self.path(node)
            guard adminSocket != socket else {
                throw node.error(expected: "a path other than listen.socket's")
            }
        }
        if let node = section["http"] { http = try Self.address(node, example: Self.defaultHTTP) }
        if let node = section["proxy"] { proxy = try Self.address(node, example: Self.defaultProxy) }
        if let node = section["proxy_socket"] {
            proxySocket = node.isNull ? nil : try Self.path(node)
            guard proxySocket != socket, proxySocket != adminSocket else {
                throw node.error(expected: "a path other than listen.socket's and listen.admin_socket's")
            }
        }
        try section.read("guard_server", into: &guardServer)
        if let node = section["max_message_size"] { limits.maxMessageSize = try Self.size(node) }
        if let node = section["max_streams_per_connection"] {
            limits.maxStreamsPerConnection = try Self.count(node, in: 1...65536)
        }
        if let node = section["max_connections"] { limits.maxConnections = try Self.count(node, in: 1...1_000_000) }
        if let node = section["max_header_size"] {
            limits.maxHeaderSize = try Self.size(node)
            // NIO's HTTP/1.1 parser refuses any head over 80 KiB itself.
            guard limits.maxHeaderSize <= 80 << 10, limits.maxHeaderSize >= 1 << 10 else {
                throw node.error(expected: "a size from 1KiB to 80KiB, such as 32KiB")
            }
        }
        if let node = section["max_request_body"] { limits.maxRequestBody = try Self.size(node) }
        if let node = section["idle_timeout"] { limits.idleTimeout = try Self.timeout(node) }
        if let node = section["read_timeout"] { limits.readTimeout = try Self.timeout(node) }
        if let allowSection = try section.section("allow", keys: ["uids", "gids"]) {
            allow = try PeerAllowList(decoding: allowSection)
        }
        if let allowSection = try section.section("admin_allow", keys: ["uids", "gids"]) {
            adminAllow = try PeerAllowList(decoding: allowSection)
        }
    }

    /// A size in bytes: a whole number, or one with a unit (`512KiB`, `1MiB`, `64KB`, `2MB`).
    private static func size(_ node: ConfigurationNode) throws(ConfigurationFileError) -> Int {
        let expected = "a size in bytes from 1 to 1GiB, such as 1048576, 512KiB or 1MiB"
        let text = try node.string(expected: expected)
        var digits = Substring(text)
        var multiplier = 1
        for (unit, factor) in sizeUnits where digits.hasSuffix(unit) {
            digits = digits.dropLast(unit.count)
            multiplier = factor
            break
        }
        while digits.last == " " { digits = digits.dropLast() }
        guard let count = Int(digits), count > 0, count <= (1 << 30) / multiplier else {
            throw node.error(expected: expected)
        }
        return count * multiplier
    }

    /// A whole number in `range`.
    private static func count(
        _ node: ConfigurationNode,
        in range: ClosedRange<Int>
    ) throws(ConfigurationFileError)
        -> Int
    {
        let expected = "a whole number from \(range.lowerBound) to \(range.upperBound)"
        let value = try node.integer(expected: expected)
        guard range.contains(value) else { throw node.error(expected: expected) }
        return value
    }

    /// A timeout from 1 ms to a day.
    private static func timeout(_ node: ConfigurationNode) throws(ConfigurationFileError) -> Duration {
        let value = try node.duration()
        guard value >= .milliseconds(1), value <= .seconds(86_400) else {
            throw node.error(expected: "a duration from 1ms to 24h, such as 10s or 5m")
        }
        return value
    }

    /// Size units, the longer spellings first.
    private static let sizeUnits: [(String, Int)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
        ("GB", 1_000_000_000), ("B", 1),
    ]

    /// `host:port` (port 0 for an ephemeral one), or `off`.
    private static func address(_ node: ConfigurationNode, example: String) throws(ConfigurationFileError) -> String? {
        let expected = "host:port such as \(example), or off"
        if node.isNull { return nil }
        let text = try node.string(expected: expected)
        if text == "off" { return nil }
        guard let address = EndpointAddress.parse(Substring(text), portRange: 0...65535) else {
            throw node.error(expected: expected)
        }
        return address.description
    }

    /// An absolute path that fits in `sun_path`. A relative path would depend on the directory the
    /// agent happens to start in, and the CLI could not find the socket.
    private static func path(_ node: ConfigurationNode) throws(ConfigurationFileError) -> String {
        let expected = "an absolute path of at most \(maximumPathLength) bytes (the sun_path limit)"
        let path = try node.string(expected: expected)
        guard path.hasPrefix("/"), path.utf8.count <= maximumPathLength, !path.utf8.contains(0) else {
            throw node.error(expected: expected)
        }
        return path
    }
}

extension PeerAllowList {
    /// `{ uids: [1000, 1001], gids: [998] }`: numeric ids, as `id -u` and `id -g` print them.
    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init(uids: try Self.ids(section["uids"]), gids: try Self.ids(section["gids"]))
    }

    private static func ids(_ node: ConfigurationNode?) throws(ConfigurationFileError) -> Set<UInt32> {
        guard let node, !node.isNull else { return [] }
        let expected = "a numeric id from 0 to 4294967294, as id -u or id -g prints it"
        var ids: Set<UInt32> = []
        for item in try node.list(expected: "a list of numeric ids, such as [1000, 1001]") {
            let value = try item.integer(expected: expected)
            guard value >= 0, value < Int(UInt32.max) else { throw item.error(expected: expected) }
            ids.insert(UInt32(value))
        }
        return ids
    }
}

extension GossipConfiguration {
    static let keys = [
        "name", "bind", "advertise", "join", "encrypt_key", "profile", "share", "quorum", "service_address",
        "health_ttl", "suspect_after",
    ]

    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        if let node = section["name"], !node.isNull {
            name = try node.name(expected: "a member name without whitespace")
        }
        if let node = section["bind"] {
            bind = try Self.hostPort(node, ports: 0...65535, expected: "host:port, such as 0.0.0.0:7946")
        }
        if let node = section["advertise"], !node.isNull {
            advertise = try Self.hostPort(node, ports: 1...65535, expected: "host:port, such as 10.0.0.1:7946")
        }
        if let node = section["join"] {
            let expected = "host:port of a member, such as 10.0.0.2:7946"
            join = []
            for (_, item) in try node.strings(expected: "a list such as [\"10.0.0.2:7946\"]", item: expected) {
                join.append(try Self.hostPort(item, ports: 1...65535, expected: expected))
            }
        }
        if let node = section["encrypt_key"], !node.isNull {
            let expected = "base64 of 16, 24 or 32 bytes (as serf keygen writes it)"
            let key = try node.string(expected: expected)
            // Never echo the key itself: error messages end up in logs.
            guard let bytes = Base64.decode(key) else {
                throw node.error(expected: expected, value: "text that is not base64")
            }
            guard [16, 24, 32].contains(bytes.count) else {
                throw node.error(expected: expected, value: "a key of \(bytes.count) bytes")
            }
            encryptKey = key
        }
        if let node = section["profile"] {
            profile = try Self.oneOf(node, Self.profiles)
        }
        if let node = section["share"] {
            share = try Self.oneOf(node, Self.shareModes)
        }
        if let node = section["service_address"], !node.isNull {
            serviceAddress = try Self.hostPort(
                node,
                ports: 1...65535,
                expected: "host:port where the app serves, such as 10.0.0.1:8080"
            )
        }
        try section.read("health_ttl", into: &healthTTL)
        if let node = section["health_ttl"], healthTTL < .seconds(1) || healthTTL > .seconds(3600) {
            throw node.error(expected: "a duration from 1s to 1h")
        }
        let quorumExpected = "an integer from 1 to \(Self.maximumQuorum)"
        try section.read("quorum", into: &quorum, expected: quorumExpected)
        if let node = section["quorum"], !(1...Self.maximumQuorum).contains(quorum) {
            throw node.error(expected: quorumExpected)
        }
        let suspectExpected = "an integer from 0 (never) to \(Self.maximumSuspectAfter)"
        try section.read("suspect_after", into: &suspectAfter, expected: suspectExpected)
        if let node = section["suspect_after"], !(0...Self.maximumSuspectAfter).contains(suspectAfter) {
            throw node.error(expected: suspectExpected)
        }
    }

    /// `host:port`, or a bare host that gets the default port, in canonical spelling.
    private static func hostPort(
        _ node: ConfigurationNode,
        ports: ClosedRange<Int>,
        expected: String
    ) throws(ConfigurationFileError) -> String {
        let text = try node.string(expected: expected)
        if let address = EndpointAddress.parse(Substring(text), portRange: ports) {
            return address.description
        }
        if let host = EndpointAddress.parseHost(Substring(text)) {
            return EndpointAddress(host: host, port: defaultPort).description
        }
        throw node.error(expected: expected)
    }

    private static func oneOf(_ node: ConfigurationNode, _ choices: [String]) throws(ConfigurationFileError) -> String {
        let expected = "one of \(choices.joined(separator: ", "))"
        let text = try node.string(expected: expected)
        guard choices.contains(text) else { throw node.error(expected: expected) }
        return text
    }
}

extension ConfigurationFileError {
    /// The error for a document Yams cannot parse, with the line it reports.
    init(syntax error: any Error, file: String, yaml: String) {
        let expected = "valid YAML"
        guard let yamlError = error as? YamlError else {
            self.init(file: file, keyPath: "", value: "\(error)", expected: expected)
            return
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var value = "\(problem) at column \(mark.column)"
            if let context { value += " (\(context.text) from line \(context.mark.line))" }
            self.init(file: file, keyPath: "", value: value, expected: expected, line: mark.line)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in 1 + yaml.prefix(offset).reduce(0) { $1 == "\n" ? $0 + 1 : $0 } }
            self.init(file: file, keyPath: "", value: problem, expected: expected, line: line)
        case .duplicatedKeysInMapping(let duplicates, let context):
            self.init(
                file: file,
                keyPath: "",
                value: "\(duplicates.map(ConfigurationNode.display).joined(separator: ", ")) more than once",
                expected: "each key once in a mapping",
                line: context.mark.line
            )
        default:
            self.init(file: file, keyPath: "", value: "\(yamlError)", expected: expected)
        }
    }
}
