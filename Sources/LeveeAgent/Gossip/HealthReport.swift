/// One `levee-health` user event: what an agent saw happen to an upstream, for its peers.
///
/// The payload is a short line of text, so that `serf monitor` shows it readably and any Serf client
/// can send one: `v1 breaker NODE UPSTREAM open|closed` or `v1 endpoint NODE UPSTREAM HOST:PORT
/// ejected|restored`. Serf user events carry no sender, hence NODE. Names never hold whitespace (the
/// configuration refuses it), so spaces separate the fields.
public enum HealthReport: Hashable, Sendable {
    case breaker(node: String, upstream: String, open: Bool)
    case endpoint(node: String, upstream: String, endpoint: String, ejected: Bool)
    /// The node's last `streak` attempts to the upstream failed, one after another, while its breaker
    /// is CLOSED (`gossip.suspect_after`): the first sign of a sickness, sent at once.
    case suspect(node: String, upstream: String, streak: Int)

    /// The Serf user event name.
    public static let eventName = "levee-health"

    public var node: String {
        switch self {
        case .breaker(let node, _, _), .endpoint(let node, _, _, _), .suspect(let node, _, _): node
        }
    }

    public var payload: [UInt8] {
        switch self {
        case .breaker(let node, let upstream, let open):
            Array("v1 breaker \(node) \(upstream) \(open ? "open" : "closed")".utf8)
        case .endpoint(let node, let upstream, let endpoint, let ejected):
            Array("v1 endpoint \(node) \(upstream) \(endpoint) \(ejected ? "ejected" : "restored")".utf8)
        case .suspect(let node, let upstream, let streak):
            Array("v1 suspect \(node) \(upstream) \(streak)".utf8)
        }
    }

    /// Parses a payload; `nil` for anything malformed (counted and dropped by the caller).
    public init?(payload: [UInt8]) {
        guard payload.count <= 512, let text = String(validating: payload, as: UTF8.self) else { return nil }
        let fields = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 5, fields[0] == "v1", fields.allSatisfy({ !$0.isEmpty }) else { return nil }
        switch (fields[1], fields.count) {
        case ("breaker", 5):
            guard fields[4] == "open" || fields[4] == "closed" else { return nil }
            self = .breaker(node: fields[2], upstream: fields[3], open: fields[4] == "open")
        case ("endpoint", 6):
            guard fields[5] == "ejected" || fields[5] == "restored" else { return nil }
            self = .endpoint(node: fields[2], upstream: fields[3], endpoint: fields[4], ejected: fields[5] == "ejected")
        case ("suspect", 5):
            guard let streak = Int(fields[4]), streak > 0, streak <= 1_000_000 else { return nil }
            self = .suspect(node: fields[2], upstream: fields[3], streak: streak)
        default:
            return nil
        }
    }
}
