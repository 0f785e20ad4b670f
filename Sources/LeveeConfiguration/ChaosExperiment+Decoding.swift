public import LeveePolicy
import Yams

extension ChaosExperiment {
    /// The top-level keys of an experiment file.
    static let keys = ["name", "hypothesis", "steady_state", "method", "abort_when", "recover_within"]
    /// The keys of a method step's `fault`, the flags of `levee fault add`.
    static let faultKeys = [
        "upstream", "abort", "abort_grpc", "reset", "blackhole", "delay", "percent", "endpoint", "header",
    ]
    /// An experiment file is small; a wrong path fails fast.
    public static let maximumFileSize = 256 << 10
    /// `min_calls` when a check does not say.
    public static let defaultMinCalls = 10

    /// Reads and parses the experiment file at `path` (see ``parse(yaml:file:)``).
    public static func load(contentsOf path: String) throws(ConfigurationFileError) -> ChaosExperiment {
        let bytes = try ConfigurationFile.contents(of: path, limit: maximumFileSize)
        guard let yaml = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationFileError(
                file: path,
                keyPath: "",
                value: "bytes that are not UTF-8",
                expected: "a YAML file in UTF-8"
            )
        }
        return try parse(yaml: yaml, file: path)
    }

    /// Parses an experiment document; `file` names it in errors. Every error names the file, the key
    /// path (`method[0].fault.abort`) and what was expected.
    public static func parse(yaml: String, file: String) throws(ConfigurationFileError) -> ChaosExperiment {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml, .basic, .default, .utf8)
        } catch {
            throw ConfigurationFileError(syntax: error, file: file, yaml: yaml)
        }
        let expectedTop = "an experiment: a mapping with keys \(keys.joined(separator: ", "))"
        guard let root else {
            throw ConfigurationFileError(file: file, keyPath: "", value: "an empty file", expected: expectedTop)
        }
        let document = ConfigurationNode(root: root, file: file)
        guard case .mapping = root else { throw document.error(expected: expectedTop) }
        let top = try document.section(keys: keys)

        guard let nameNode = top["name"] else {
            throw document.error(expected: "the key name (the experiment's name)", value: "no name")
        }
        let name = try nameNode.name(expected: "a name without whitespace")
        var hypothesis = ""
        try top.read("hypothesis", into: &hypothesis)

        guard let steadyNode = top["steady_state"] else {
            throw document.error(expected: "the key steady_state (a list of checks)", value: "no steady_state")
        }
        var checks: [SteadyStateCheck] = []
        for item in try steadyNode.list(expected: "a list of checks (upstream: ... or service_level: [...])") {
            checks.append(try check(item))
        }
        guard !checks.isEmpty else { throw steadyNode.error(expected: "at least one check") }

        guard let methodNode = top["method"] else {
            throw document.error(expected: "the key method (a list of faults)", value: "no method")
        }
        var method: [MethodStep] = []
        for item in try methodNode.list(expected: "a list of steps (fault: {...}, after, for)") {
            method.append(try step(item))
        }
        guard !method.isEmpty else { throw methodNode.error(expected: "at least one step") }

        var abortWhen: AbortRule?
        if let section = try top.section("abort_when", keys: ["violated_for"]) {
            guard let node = section["violated_for"] else {
                throw section.node.error(expected: "violated_for: a duration such as 5s", value: "no violated_for")
            }
            let violatedFor = try node.duration()
            guard violatedFor > .zero else { throw node.error(expected: "a duration above 0") }
            abortWhen = AbortRule(violatedFor: violatedFor)
        }
        var recoverWithin = Duration.seconds(30)
        try top.read("recover_within", into: &recoverWithin)
        return ChaosExperiment(
            name: name,
            hypothesis: hypothesis,
            steadyState: checks,
            method: method,
            abortWhen: abortWhen,
            recoverWithin: recoverWithin
        )
    }

    private static func check(_ node: ConfigurationNode) throws(ConfigurationFileError) -> SteadyStateCheck {
        let section = try node.section(keys: ["upstream", "p99_below", "errors_below", "min_calls", "service_level"])
        if let levelsNode = section["service_level"] {
            guard section.values.count == 1 else {
                throw node.error(expected: "service_level alone in its check (upstream checks are separate items)")
            }
            var levels: Set<ServiceLevel> = []
            let expected = "a list of FULL, DEGRADED, MINIMAL"
            for (text, item) in try levelsNode.strings(expected: expected, item: "FULL, DEGRADED or MINIMAL") {
                guard let level = ServiceLevel.allCases.first(where: { $0.description == text.uppercased() }) else {
                    throw item.error(expected: "FULL, DEGRADED or MINIMAL")
                }
                levels.insert(level)
            }
            guard !levels.isEmpty else { throw levelsNode.error(expected: expected) }
            return .serviceLevel(levels)
        }
        guard let upstreamNode = section["upstream"] else {
            throw node.error(
                expected: "a check with upstream (and p99_below, errors_below, min_calls) or service_level"
            )
        }
        var check = UpstreamSteadyState(
            upstream: try upstreamNode.name(expected: "an upstream's name"),
            minCalls: defaultMinCalls
        )
        if let p99 = section["p99_below"] {
            let value = try p99.duration()
            guard value > .zero else { throw p99.error(expected: "a duration above 0") }
            check.p99Below = value
        }
        if let errors = section["errors_below"] {
            check.errorsBelow = try percentage(errors)
        }
        try section.read("min_calls", into: &check.minCalls, expected: "a whole number of calls, 0 or more")
        if check.minCalls < 0, let node = section["min_calls"] {
            throw node.error(expected: "a whole number of calls, 0 or more")
        }
        guard check.p99Below != nil || check.errorsBelow != nil || section["min_calls"] != nil else {
            throw node.error(expected: "at least one of p99_below, errors_below, min_calls")
        }
        return .upstream(check)
    }

    /// `0.1%`: a number and a percent sign, 0 to 100.
    private static func percentage(_ node: ConfigurationNode) throws(ConfigurationFileError) -> Double {
        let expected = "a percentage such as 0.1% (0 to 100)"
        var text = try node.string(expected: expected)
        guard text.hasSuffix("%") else { throw node.error(expected: expected) }
        text.removeLast()
        guard let value = Double(text.trimmingSpaces), value.isFinite, (0...100).contains(value) else {
            throw node.error(expected: expected)
        }
        return value
    }

    private static func step(_ node: ConfigurationNode) throws(ConfigurationFileError) -> MethodStep {
        let section = try node.section(keys: ["fault", "after", "for"])
        guard let faultNode = section["fault"] else {
            throw node.error(expected: "a step with fault: {...}, after and for", value: "no fault")
        }
        let fault = try fault(faultNode)
        var after = Duration.zero
        try section.read("after", into: &after)
        guard let forNode = section["for"] else {
            throw node.error(expected: "for: how long the fault stays on, e.g. 60s", value: "no for")
        }
        let duration = try forNode.duration()
        guard duration > .zero else { throw forNode.error(expected: "a duration above 0") }
        return MethodStep(fault: fault, after: after, duration: duration)
    }

    private static func fault(_ node: ConfigurationNode) throws(ConfigurationFileError) -> ChaosFault {
        let section = try node.section(keys: faultKeys)
        guard let upstreamNode = section["upstream"] else {
            throw node.error(expected: "upstream: the upstream the fault hits", value: "no upstream")
        }
        let upstream = try upstreamNode.name(expected: "an upstream's name")
        var delay = Duration.zero
        try section.read("delay", into: &delay)
        var actions: [(key: String, action: ChaosFault.Action)] = []
        if let abort = section["abort"] {
            let status = try abort.integer(expected: "an HTTP status, 100 to 599")
            guard (100...599).contains(status) else { throw abort.error(expected: "an HTTP status, 100 to 599") }
            actions.append(("abort", .abort(httpStatus: status)))
        }
        if let abort = section["abort_grpc"] {
            let code = try abort.integer(expected: "a gRPC status code, 1 to 16")
            guard (1...16).contains(code) else { throw abort.error(expected: "a gRPC status code, 1 to 16") }
            actions.append(("abort_grpc", .abortGRPC(code: code)))
        }
        var flag = false
        try section.read("reset", into: &flag)
        if flag { actions.append(("reset", .reset)) }
        flag = false
        try section.read("blackhole", into: &flag)
        if flag { actions.append(("blackhole", .blackhole)) }
        guard actions.count <= 1 else {
            throw node.error(
                expected: "at most one of abort, abort_grpc, reset, blackhole",
                value: actions.map(\.key).joined(separator: " and ")
            )
        }
        guard let action = actions.first?.action ?? (delay > .zero ? .delayOnly : nil) else {
            throw node.error(
                expected: "one of abort, abort_grpc, reset: true, blackhole: true, or a delay",
                value: "a fault that does nothing"
            )
        }
        var percent = 100.0
        if let percentNode = section["percent"] {
            percent = try percentNode.number(expected: "a share of attempts, above 0 and at most 100")
            guard percent > 0 && percent <= 100 else {
                throw percentNode.error(expected: "a share of attempts, above 0 and at most 100")
            }
        }
        var endpoint: String?
        if let endpointNode = section["endpoint"] {
            let text = try endpointNode.string(expected: "host:port")
            guard EndpointAddress(parsing: text) != nil else { throw endpointNode.error(expected: "host:port") }
            endpoint = text
        }
        var header: (name: String, value: String)?
        if let headerNode = section["header"] {
            let expected = "NAME=VALUE (a header, or gRPC metadata key, and its value)"
            let text = try headerNode.string(expected: expected)
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw headerNode.error(expected: expected)
            }
            header = (String(text[..<equals]).trimmingSpaces, String(text[text.index(after: equals)...]).trimmingSpaces)
        }
        return ChaosFault(
            upstream: upstream,
            action: action,
            delay: delay,
            percent: percent,
            endpoint: endpoint,
            header: header
        )
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
