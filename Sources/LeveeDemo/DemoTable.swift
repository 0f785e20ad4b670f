/// The side-by-side table of both runs: each figure before, during and after the incident.
enum DemoTable {
    static func render(unprotected: RunFigures, protected: RunFigures) -> String {
        let runs = [unprotected, protected]
        let columns = runs.flatMap { run in Phase.allCases.map { (run, $0) } }
        let workers = "of \(unprotected.workers)"
        var rows: [[String]] = [
            [""] + runs.flatMap { [$0.mode.rawValue, "", ""] },
            [""] + runs.flatMap { _ in Phase.allCases.map(\.rawValue) },
        ]
        func row(_ label: String, _ cell: (RunFigures, PhaseFigures) -> String) {
            rows.append([label] + columns.map { run, phase in cell(run, run.phase(phase)) })
        }
        row("Inventory page: success") { Format.percent($1.inventory.successPercent) }
        row("Inventory page: p99") { Format.milliseconds($1.inventory.p99Ms) }
        row("Order page: success") { Format.percent($1.order.successPercent) }
        row("Order page: p99") { Format.milliseconds($1.order.p99Ms) }
        row("Workers busy, most (\(workers))") { "\($1.workersBusyMax)" }
        row("Workers on Payments, most") { "\($1.workersOnPaymentsMax)" }
        row("Time with every worker busy") { Format.percent($1.saturatedPercent) }
        row("Service level, worst") { $1.level?.uppercased() ?? "-" }
        row("Payments answered by fallback") { "\($1.paymentsByFallback)" }
        row("Page requests") { "\($1.order.requests + $1.inventory.requests)" }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                let padded = index == 0 ? cell.padding(toLength: widths[index]) : cell.leftPadding(widths[index])
                return index == 4 ? "   " + padded : padded
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }

    fileprivate func leftPadding(_ length: Int) -> String {
        count >= length ? self : String(repeating: " ", count: length - count) + self
    }
}
