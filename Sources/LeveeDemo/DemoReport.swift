/// What `levee demo --json` prints: the settings and both runs' figures.
struct DemoReport: Codable, Sendable {
    var quick: Bool
    /// Where the SVG chart was written.
    var chart: String
    var settings: DemoSettings
    var unprotected: RunFigures
    var protected: RunFigures

    /// The text `levee demo` prints: each run's story, then the table.
    var text: String {
        var lines: [String] = []
        for run in [unprotected, protected] {
            let title =
                run.mode == .unprotected
                ? "Unprotected: Orders calls Inventory and Payments directly, with no timeouts"
                : "Protected: Orders calls them through the agent (breaker, bulkhead, timeouts, fallback, degradation)"
            lines.append(title)
            for event in run.story {
                lines.append("  \(Format.time(event.t)) \(event.text)")
            }
            lines.append("")
        }
        lines.append(DemoTable.render(unprotected: unprotected, protected: protected))
        lines.append("")
        lines.append("chart: \(chart)")
        return lines.joined(separator: "\n")
    }
}
