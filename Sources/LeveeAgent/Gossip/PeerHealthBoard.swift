public import LeveePolicy

/// What peers last reported about each upstream's breaker, each report kept for a TTL. A value type:
/// time is a parameter, so tests drive it with a manual clock.
public struct PeerHealthBoard: Sendable {
    public let ttl: Duration
    /// How long a peer's suspicion counts (shorter than `ttl`: a streak is news of the moment).
    public let suspicionTTL: Duration
    private var reports: [String: [String: Report]] = [:]
    /// When each peer last suspected each upstream.
    private var suspicions: [String: [String: Instant]] = [:]

    struct Report: Sendable {
        var open: Bool
        var at: Instant
    }

    public init(ttl: Duration, suspicionTTL: Duration = .seconds(5)) {
        self.ttl = ttl
        self.suspicionTTL = min(suspicionTTL, ttl)
    }

    /// Remembers a breaker report or a suspicion (endpoint reports are informational and not kept
    /// here). A breaker report ends the peer's suspicion: it has a verdict now.
    public mutating func record(_ report: HealthReport, now: Instant) {
        switch report {
        case .breaker(let node, let upstream, let open):
            reports[upstream, default: [:]][node] = Report(open: open, at: now)
            suspicions[upstream]?[node] = nil
        case .suspect(let node, let upstream, _):
            suspicions[upstream, default: [:]][node] = now
        case .endpoint:
            break
        }
    }

    /// The live peers (`live`, this agent excluded by the caller) whose latest report, younger than the
    /// TTL, says `upstream`'s breaker is open; sorted.
    public func peersReportingOpen(_ upstream: String, live: Set<String>, now: Instant) -> [String] {
        guard let byNode = reports[upstream] else { return [] }
        return byNode.compactMap { node, report in
            report.open && live.contains(node) && now - report.at < ttl ? node : nil
        }.sorted()
    }

    /// The live peers whose suspicion of `upstream`, younger than `suspicionTTL`, stands; sorted.
    public func peersSuspecting(_ upstream: String, live: Set<String>, now: Instant) -> [String] {
        guard let byNode = suspicions[upstream] else { return [] }
        return byNode.compactMap { node, at in
            live.contains(node) && now - at < suspicionTTL ? node : nil
        }.sorted()
    }

    /// Drops reports older than the TTL, and suspicions older than theirs.
    public mutating func expire(now: Instant) {
        for (upstream, byNode) in reports {
            let fresh = byNode.filter { now - $0.value.at < ttl }
            reports[upstream] = fresh.isEmpty ? nil : fresh
        }
        for (upstream, byNode) in suspicions {
            let fresh = byNode.filter { now - $0.value < suspicionTTL }
            suspicions[upstream] = fresh.isEmpty ? nil : fresh
        }
    }
}
