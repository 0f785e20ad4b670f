public import LeveePolicy

/// What peers last reported about each upstream's breaker, each report kept for a TTL. A value type:
/// time is a parameter, so tests drive it with a manual clock.
public struct PeerHealthBoard: Sendable {
    public let ttl: Duration
    private var reports: [String: [String: Report]] = [:]

    struct Report: Sendable {
        var open: Bool
        var at: Instant
    }

    public init(ttl: Duration) {
        self.ttl = ttl
    }

    /// Remembers a breaker report (endpoint reports are informational and not kept here).
    public mutating func record(_ report: HealthReport, now: Instant) {
        guard case .breaker(let node, let upstream, let open) = report else { return }
        reports[upstream, default: [:]][node] = Report(open: open, at: now)
    }

    /// The live peers (`live`, this agent excluded by the caller) whose latest report, younger than the
    /// TTL, says `upstream`'s breaker is open; sorted.
    public func peersReportingOpen(_ upstream: String, live: Set<String>, now: Instant) -> [String] {
        guard let byNode = reports[upstream] else { return [] }
        return byNode.compactMap { node, report in
            report.open && live.contains(node) && now - report.at < ttl ? node : nil
        }.sorted()
    }

    /// Drops reports older than the TTL.
    public mutating func expire(now: Instant) {
        for (upstream, byNode) in reports {
            let fresh = byNode.filter { now - $0.value.at < ttl }
            reports[upstream] = fresh.isEmpty ? nil : fresh
        }
    }
}
