import LeveePolicy
import Yams

extension UpstreamDefaults {
    /// The keys of an upstream, and of `defaults`.
    static let keys =
        ["protocol", "tls", "tls_ca_file", "endpoints", "discover"] + UpstreamPolicyConfiguration.sectionKeys + [
            "fallback"
        ]

    /// What a valid endpoint looks like.
    static let endpointExpected = "host:port with a port from 1 to 65535 (an IPv6 address in brackets: [::1]:80)"

    /// Every key of an upstream-like mapping (`upstreams.NAME` with the defaults merged in, or
    /// `defaults`), over the built-in defaults. Policy ranges are not checked here: see `validated`.
    init(decoding node: ConfigurationNode) throws(ConfigurationFileError) {
        let section = try node.section(keys: Self.keys)
        self.init()
        try section.read("protocol", into: &protocolKind)
        try section.read("tls", into: &tls)
        if let caNode = section["tls_ca_file"], !caNode.isNull {
            let path = try caNode.string(expected: "the path of a PEM file of certificate authorities")
            guard path.hasPrefix("/") else {
                throw caNode.error(expected: "an absolute path of a PEM file of certificate authorities")
            }
            tlsCAFile = path
        }
        if let endpointsNode = section["endpoints"], case .mapping = endpointsNode.node {
            // `endpoints: { discover: SERVICE }`: the live members of the gossip pool whose `svc` tag
            // is SERVICE, at their `addr` tag (the same as `discover: SERVICE`).
            let discovery = try endpointsNode.section(keys: ["discover"])
            if let discoverNode = discovery["discover"] {
                discover = try discoverNode.name(expected: "a service name without whitespace")
            }
        } else if let endpointsNode = section["endpoints"] {
            for (text, item) in try endpointsNode.strings(
                expected: "a list of host:port, such as [\"127.0.0.1:8081\"]",
                item: Self.endpointExpected
            ) {
                guard let address = EndpointAddress(parsing: text) else {
                    throw item.error(expected: Self.endpointExpected)
                }
                guard !endpoints.contains(address) else {
                    throw item.error(expected: "each endpoint once", value: "\(address) again")
                }
                endpoints.append(address)
            }
        }
        if let discoverNode = section["discover"], !discoverNode.isNull {
            discover = try discoverNode.name(expected: "a service name without whitespace")
        }
        policy = try UpstreamPolicyConfiguration(decoding: section)
        if let fallbackNode = section["fallback"] {
            fallback = try FallbackConfiguration(decoding: fallbackNode.section(keys: FallbackConfiguration.keys))
        }
    }

    /// Runs the policy core's `validate()` and reports its error under `node`'s key path, with the line
    /// of the key it names (or of the nearest enclosing key the file has, when the bad value is a
    /// built-in default).
    func validate(in node: ConfigurationNode) throws(ConfigurationFileError) {
        do {
            try policy.validate()
        } catch {
            throw ConfigurationFileError(
                error,
                prefix: node.keyPath,
                file: node.file,
                line: node.line(at: error.keyPath)
            )
        }
    }
}

extension ConfigurationNode {
    /// The line of the key at `relativePath` (`breaker.window.size`, `retry.on[2]`) below this node, or
    /// of the deepest part of it that the file has.
    func line(at relativePath: String) -> Int? {
        var current = node
        var line = self.line
        for component in Self.components(of: relativePath) {
            switch (component, current) {
            case (.key(let key), .mapping(let mapping)):
                guard
                    let pair = mapping.first(where: { pair in
                        if case .scalar(let scalar) = pair.key { return scalar.string == key }
                        return false
                    })
                else { return line }
                line = pair.key.mark?.line ?? line
                current = pair.value
            case (.index(let index), .sequence(let sequence)) where sequence.indices.contains(index):
                current = sequence[index]
                line = current.mark?.line ?? line
            default:
                return line
            }
        }
        return line
    }

    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    /// `retry.on[2]` as `[.key("retry"), .key("on"), .index(2)]`.
    private static func components(of path: String) -> [PathComponent] {
        var components: [PathComponent] = []
        for part in path.split(separator: ".") {
            var rest = part[...]
            if let bracket = rest.firstIndex(of: "[") {
                if bracket > rest.startIndex { components.append(.key(String(rest[..<bracket]))) }
                rest = rest[bracket...]
                while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                    if let index = Int(rest[rest.index(after: rest.startIndex)..<close]) {
                        components.append(.index(index))
                    }
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                components.append(.key(String(rest)))
            }
        }
        return components
    }
}
