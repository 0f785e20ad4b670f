/// Reads what the story needs from the agent's Prometheus text (`/metrics`): the payments breaker's
/// state and the service level.
enum AgentMetrics {
    /// `levee_breaker_state`: 0 closed, 1 open, 2 half-open, 3 forced open, 4 forced closed.
    static let breakerStates = ["closed", "open", "half_open", "forced_open", "forced_closed"]
    /// `levee_service_level`: 1 full, 2 degraded, 3 minimal.
    static let levels = [1: "full", 2: "degraded", 3: "minimal"]

    static func stat(_ text: String, upstream: String, t: Double) -> AgentStat? {
        var breaker: String?
        var level: String?
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            if series.hasPrefix("levee_breaker_state{"), series.contains("upstream=\"\(upstream)\"") {
                let index = Int(value)
                breaker = breakerStates.indices.contains(index) ? breakerStates[index] : "unknown"
            } else if series == "levee_service_level" || series.hasPrefix("levee_service_level{") {
                level = levels[Int(value)] ?? "unknown"
            }
        }
        guard let breaker, let level else { return nil }
        return AgentStat(t: t, breaker: breaker, level: level)
    }
}
