import Foundation
import LeveeAPI

/// The experiment's chart for `levee chaos run --report FILE.svg`: error % (top) and p99 (bottom) of
/// each upstream over time, the fault windows shaded, written by hand as well-formed SVG.
struct ChaosChart {
    let report: Levee_V1_ExperimentReport

    static let width = 900.0
    static let panelHeight = 220.0
    static let left = 70.0
    static let right = 170.0
    static let top = 50.0
    static let gap = 50.0
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]

    var svg: String {
        let plotWidth = Self.width - Self.left - Self.right
        let height = Self.top + 2 * Self.panelHeight + Self.gap + 50
        let samples = report.samples
        let endMs = max(
            report.elapsedMs,
            samples.last?.atMs ?? 0,
            report.windows.map { max($0.toMs, $0.fromMs) }.max() ?? 0,
            1
        )
        let upstreams = Array(Set(samples.flatMap { $0.upstreams.map(\.upstream) })).sorted()
        func x(_ milliseconds: UInt64) -> Double { Self.left + plotWidth * Double(milliseconds) / Double(endMs) }

        let title = Self.escape("\(report.name): \(report.verdict.uppercased())")
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(Self.width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Self.left)" y="22" font-size="15" font-weight="bold">\(title)</text>
            <text x="\(Self.left)" y="38" fill="#555">\(Self.escape(report.hypothesis))</text>

            """
        let panels: [(title: String, unit: String, value: (Levee_V1_UpstreamSample) -> Double)] = [
            ("error %", "%", { $0.calls == 0 ? 0 : Double($0.failures) * 100 / Double($0.calls) }),
            ("p99", "ms", { Double($0.p99Us) / 1_000 }),
        ]
        for (index, panel) in panels.enumerated() {
            let y0 = Self.top + Double(index) * (Self.panelHeight + Self.gap)
            let maximum = Self.niceCeiling(
                samples.flatMap { $0.upstreams.map(panel.value) }.max() ?? 0,
                floor: panel.unit == "%" ? 1 : 10
            )
            func y(_ value: Double) -> Double {
                y0 + Self.panelHeight - Self.panelHeight * min(value, maximum) / maximum
            }
            // Fault windows first, under the lines.
            for window in report.windows {
                let from = x(window.fromMs)
                let to = x(window.toMs == 0 ? endMs : window.toMs)
                out += """
                    <rect x="\(Self.f(from))" y="\(Self.f(y0))" width="\(Self.f(max(to - from, 1)))" \
                    height="\(Self.f(Self.panelHeight))" fill="#f4a582" fill-opacity="0.35"/>

                    """
                if index == 0 {
                    let label = Self.escape("\(window.faultID) \(window.upstream) \(window.description_p)")
                    out += """
                        <text x="\(Self.f(from + 3))" y="\(Self.f(y0 + 13))" fill="#b2182b" font-size="11">\(label)</text>

                        """
                }
            }
            let middle = Self.f(y0 + Self.panelHeight / 2)
            let axisTitle = Self.escape("\(panel.title) (\(panel.unit))")
            out += """
                <rect x="\(Self.f(Self.left))" y="\(Self.f(y0))" width="\(Self.f(plotWidth))" \
                height="\(Self.f(Self.panelHeight))" fill="none" stroke="#333"/>
                <text x="\(Self.f(Self.left - 8))" y="\(Self.f(y0 + 4))" text-anchor="end">\(Self.f(maximum))</text>
                <text x="\(Self.f(Self.left - 8))" y="\(Self.f(y0 + Self.panelHeight))" text-anchor="end">0</text>
                <text x="14" y="\(middle)" transform="rotate(-90 14 \(middle))" text-anchor="middle">\(axisTitle)</text>

                """
            for (number, upstream) in upstreams.enumerated() {
                let points = samples.compactMap { sample -> String? in
                    guard let value = sample.upstreams.first(where: { $0.upstream == upstream }) else { return nil }
                    return "\(Self.f(x(sample.atMs))),\(Self.f(y(panel.value(value))))"
                }
                guard !points.isEmpty else { continue }
                let color = Self.colors[number % Self.colors.count]
                out += """
                    <polyline fill="none" stroke="\(color)" stroke-width="2" points="\(points.joined(separator: " "))"/>

                    """
            }
        }
        // The time axis and the legend.
        let axisY = Self.top + 2 * Self.panelHeight + Self.gap
        let step = Self.niceCeiling(Double(endMs) / 1_000 / 8, floor: 1)
        var tick = 0.0
        while tick * 1_000 <= Double(endMs) {
            out += """
                <text x="\(Self.f(x(UInt64(tick * 1_000))))" y="\(Self.f(axisY + 16))" text-anchor="middle">\(Self.f(tick))s</text>

                """
            tick += step
        }
        for (number, upstream) in upstreams.enumerated() {
            let y = Self.top + 10 + Double(number) * 18
            let color = Self.colors[number % Self.colors.count]
            out += """
                <line x1="\(Self.f(Self.width - Self.right + 15))" y1="\(Self.f(y))" x2="\(Self.f(Self.width - Self.right + 35))" \
                y2="\(Self.f(y))" stroke="\(color)" stroke-width="3"/>
                <text x="\(Self.f(Self.width - Self.right + 40))" y="\(Self.f(y + 4))">\(Self.escape(upstream))</text>

                """
        }
        out += "</svg>\n"
        return out
    }

    /// 1, 2 or 5 times a power of ten, at least `value` and `floor`.
    static func niceCeiling(_ value: Double, floor: Double) -> Double {
        let target = max(value, floor)
        var base = 1.0
        while base * 10 < target { base *= 10 }
        while base > target { base /= 10 }
        for factor in [1.0, 2.0, 5.0, 10.0] where base * factor >= target { return base * factor }
        return base * 10
    }

    static func f(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : String(format: "%.1f", value)
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default:
                if character.unicodeScalars.allSatisfy({ $0.value >= 0x20 || $0 == "\t" }) { escaped.append(character) }
            }
        }
        return escaped
    }
}
