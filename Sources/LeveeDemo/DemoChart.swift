import Foundation

/// The SVG chart of both runs: for each, the success rate and the p99 latency of each page over time,
/// the incident shaded.
enum DemoChart {
    private static let panelWidth = 440.0
    private static let panelHeight = 200.0
    private static let margin = (left: 60.0, right: 20.0, top: 40.0, bottom: 40.0)
    private static let colours: [Sample.Page: String] = [.inventory: "#1f77b4", .order: "#d62728"]

    static func render(unprotected: RunFigures, protected: RunFigures) -> String {
        let cellWidth = margin.left + panelWidth + margin.right
        let cellHeight = margin.top + panelHeight + margin.bottom
        let width = cellWidth * 2
        let height = cellHeight * 2 + 30
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>

            """
        for (row, run) in [unprotected, protected].enumerated() {
            let top = Double(row) * cellHeight
            svg += successPanel(run, x: 0, y: top)
            svg += latencyPanel(run, x: cellWidth, y: top)
        }
        let legendY = cellHeight * 2 + 15
        svg += legend(x: margin.left, y: legendY)
        svg += "</svg>\n"
        return svg
    }

    private static func successPanel(_ run: RunFigures, x: Double, y: Double) -> String {
        var svg = frame(run, x: x, y: y, title: "\(run.mode.rawValue): success per page (%)")
        let plot = Plot(run: run, x: x + margin.left, y: y + margin.top)
        for tick in stride(from: 0.0, through: 100, by: 25) {
            let tickY = plot.y + panelHeight * (1 - tick / 100)
            svg += gridLine(plot, y: tickY, label: "\(Int(tick))")
        }
        for page in Sample.Page.allCases {
            let points = run.series.filter { $0.page == page }.map { point in
                (plot.at(point.t + 0.25), plot.y + panelHeight * (1 - point.successPercent / 100))
            }
            svg += polyline(points, colour: colours[page] ?? "black")
        }
        return svg
    }

    /// p99 on a log scale from 1 ms to 10 s.
    private static func latencyPanel(_ run: RunFigures, x: Double, y: Double) -> String {
        var svg = frame(run, x: x, y: y, title: "\(run.mode.rawValue): p99 per page (ms, log scale)")
        let plot = Plot(run: run, x: x + margin.left, y: y + margin.top)
        func scaled(_ ms: Double) -> Double {
            let clamped = min(max(ms, 1), 10_000)
            return plot.y + panelHeight * (1 - log10(clamped) / 4)
        }
        for tick in [1.0, 10, 100, 1000, 10_000] {
            svg += gridLine(plot, y: scaled(tick), label: tick >= 1000 ? "\(Int(tick / 1000)) s" : "\(Int(tick))")
        }
        for page in Sample.Page.allCases {
            let points = run.series.filter { $0.page == page }.compactMap { point -> (Double, Double)? in
                point.p99Ms.map { (plot.at(point.t + 0.25), scaled($0)) }
            }
            svg += polyline(points, colour: colours[page] ?? "black")
        }
        return svg
    }

    private struct Plot {
        var run: RunFigures
        var x: Double
        var y: Double
        func at(_ t: Double) -> Double { x + DemoChart.panelWidth * min(max(t / max(run.end, 1), 0), 1) }
    }

    /// The panel's title, axes, time ticks and the shaded incident.
    private static func frame(_ run: RunFigures, x: Double, y: Double, title: String) -> String {
        let plot = Plot(run: run, x: x + margin.left, y: y + margin.top)
        let sick = plot.at(run.sickAt)
        let heal = plot.at(run.healAt)
        var svg = """
            <text x="\(f(plot.x))" y="\(f(y + 20))" font-size="13" font-weight="bold">\(escape(title))</text>
            <rect x="\(f(sick))" y="\(f(plot.y))" width="\(f(heal - sick))" height="\(f(panelHeight))" \
            fill="#f4cccc" opacity="0.6"/>
            <text x="\(f(sick + 3))" y="\(f(plot.y + 12))" fill="#990000">Payments sick</text>
            <rect x="\(f(plot.x))" y="\(f(plot.y))" width="\(f(panelWidth))" height="\(f(panelHeight))" \
            fill="none" stroke="#444"/>

            """
        let step = run.end > 30 ? 10.0 : 5.0
        for t in stride(from: 0.0, through: run.end, by: step) {
            let tickX = plot.at(t)
            svg += """
                <line x1="\(f(tickX))" y1="\(f(plot.y + panelHeight))" x2="\(f(tickX))" \
                y2="\(f(plot.y + panelHeight + 4))" stroke="#444"/>
                <text x="\(f(tickX))" y="\(f(plot.y + panelHeight + 16))" text-anchor="middle">\(Int(t)) s</text>

                """
        }
        return svg
    }

    private static func gridLine(_ plot: Plot, y: Double, label: String) -> String {
        """
        <line x1="\(f(plot.x))" y1="\(f(y))" x2="\(f(plot.x + panelWidth))" y2="\(f(y))" stroke="#ddd"/>
        <text x="\(f(plot.x - 6))" y="\(f(y + 4))" text-anchor="end">\(escape(label))</text>

        """
    }

    private static func polyline(_ points: [(Double, Double)], colour: String) -> String {
        guard !points.isEmpty else { return "" }
        let list = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
        return "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\"/>\n"
    }

    private static func legend(x: Double, y: Double) -> String {
        var svg = ""
        for (index, page) in [Sample.Page.inventory, .order].enumerated() {
            let left = x + Double(index) * 160
            let label = page == .inventory ? "Inventory page" : "Order page"
            svg += """
                <line x1="\(f(left))" y1="\(f(y))" x2="\(f(left + 24))" y2="\(f(y))" \
                stroke="\(colours[page] ?? "black")" stroke-width="2"/>
                <text x="\(f(left + 30))" y="\(f(y + 4))">\(label)</text>

                """
        }
        return svg
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
