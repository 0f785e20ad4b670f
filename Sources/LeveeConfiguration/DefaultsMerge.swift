import Yams

/// The merge of the file's `defaults` under an upstream's own keys, done on the YAML before decoding:
/// mappings merge key by key, at any depth; a list or a scalar of the upstream replaces the default's
/// (a list of endpoints or retry patterns is one value, not a set to add to). A null (`breaker:`) is an
/// empty mapping, so it keeps the defaults.
///
/// Merging the YAML rather than decoded values keeps every node's line, so an error in a merged
/// upstream points at the line that set the value, in `defaults` or in the upstream. The defaults are
/// decoded (their keys checked) before any merge, so a merge walks only the few known keys.
enum DefaultsMerge {
    static func merge(_ defaults: Node, under upstream: Node) -> Node {
        merge(defaults, under: upstream, key: "")
    }

    private static func merge(_ base: Node, under top: Node, key: String) -> Node {
        if top.isNullScalar { return base.isNullScalar ? top : base }
        guard case .mapping(let topMapping) = top, case .mapping(let baseMapping) = base else { return top }
        // Header names are case-insensitive (RFC 9110 §5.1): an upstream's `Content-Type` replaces the
        // default `content-type`.
        let caseInsensitive = key == "headers"
        func name(_ node: Node) -> String? {
            guard case .scalar(let scalar) = node else { return nil }
            return caseInsensitive ? scalar.string.lowercased() : scalar.string
        }
        var pairs: [(Node, Node)] = []
        var taken = Set<String>()
        for (topKey, topValue) in topMapping {
            if let keyName = name(topKey) {
                taken.insert(keyName)
                if let basePair = baseMapping.first(where: { name($0.key) == keyName }) {
                    pairs.append((topKey, merge(basePair.value, under: topValue, key: keyName)))
                    continue
                }
            }
            pairs.append((topKey, topValue))
        }
        for (baseKey, baseValue) in baseMapping where !taken.contains(name(baseKey) ?? "") {
            pairs.append((baseKey, baseValue))
        }
        return .mapping(Node.Mapping(pairs, topMapping.tag, topMapping.style, topMapping.mark))
    }
}
