import Foundation
import LeveeAPI

/// One refresh of what `levee top` shows: the agent's status, its upstreams and the pool's members.
struct TopSnapshot: Sendable {
    var status: Levee_V1_StatusResponse
    var upstreams: [Levee_V1_UpstreamInfo]
    var members: Levee_V1_MembersResponse
    var takenAt: ContinuousClock.Instant
}

/// How `levee top` orders its upstreams; the raw value is the key that selects it.
enum TopSortKey: Character, CaseIterable, Sendable {
    case name = "n"
    case callRate = "c"
    case failureRate = "f"
    case latency = "l"
    case breaker = "b"

    var label: String {
        switch self {
        case .name: "name"
        case .callRate: "calls/s"
        case .failureRate: "failure %"
        case .latency: "p99"
        case .breaker: "breaker"
        }
    }
}

/// One upstream as `levee top` shows it, with the rates derived from two refreshes.
struct TopRow: Sendable, Equatable {
    var name: String
    var state: Levee_V1_BreakerState
    /// The state, with where it came from when not from this agent's calls, and the time until a probe.
    var breaker: String
    var callsPerSecond: Double
    /// Nil when no call finished recently.
    var failurePercent: Double?
    var p50Microseconds: UInt64
    var p99Microseconds: UInt64
    var inFlight: String
    var queued: String
    var budget: UInt32
    var endpoints: String
    /// The adaptive limit's algorithm and RTT estimates (`bulkhead.adaptive`), nil for a fixed bulkhead:
    /// shown after the in-flight count on screen, as `key=value` fields in the plain output.
    var adaptive: Adaptive?
    /// The chaos faults active on the upstream, each `f1 abort 500 30%`.
    var faults: [String] = []

    struct Adaptive: Sendable, Equatable {
        var algorithm: String
        var limit: UInt32
        var shortRTT: String
        var longRTT: String
    }

    /// `upstream` now; `previous` is the same upstream at the last refresh, `elapsed` seconds ago.
    ///
    /// Calls per second come from the growth of `counters.calls` between refreshes (the recent 10-second
    /// count stands in on the first); the failure share from the recent calls, or, when the agent does
    /// not report them, from the counters' growth.
    init(_ upstream: Levee_V1_UpstreamInfo, previous: Levee_V1_UpstreamInfo?, elapsed: Double) {
        name = upstream.name + (upstream.dynamic ? "*" : "")
        state = upstream.breaker.state
        var breaker = upstream.breaker.state.name
        if upstream.breaker.source != .local { breaker += " (\(upstream.breaker.source.name))" }
        if upstream.breaker.retryAfterMs > 0 { breaker += " \((upstream.breaker.retryAfterMs + 999) / 1000)s" }
        self.breaker = breaker

        let counters = upstream.counters
        var callGrowth: UInt64?
        var failureGrowth: UInt64 = 0
        if let previous, elapsed > 0, counters.calls >= previous.counters.calls, counters.ok >= previous.counters.ok {
            let calls = counters.calls - previous.counters.calls
            callGrowth = calls
            failureGrowth = calls - min(calls, counters.ok - previous.counters.ok)
        }
        callsPerSecond = callGrowth.map { Double($0) / elapsed } ?? Double(upstream.recentCalls) / 10
        if upstream.recentCalls > 0 {
            failurePercent = Double(upstream.recentFailures) * 100 / Double(upstream.recentCalls)
        } else if let callGrowth, callGrowth > 0 {
            failurePercent = Double(failureGrowth) * 100 / Double(callGrowth)
        } else {
            failurePercent = nil
        }
        p50Microseconds = upstream.latencyP50Us
        p99Microseconds = upstream.latencyP99Us
        inFlight =
            "\(upstream.inFlight)/\(upstream.maxConcurrent)"
            + (upstream.reservedCritical > 0 ? " (\(upstream.reservedCritical) crit)" : "")
        if upstream.hasAdaptive {
            let limit = upstream.adaptive
            adaptive = Adaptive(
                algorithm: limit.algorithm,
                limit: limit.limit,
                shortRTT: Self.latency(limit.rttShortUs),
                longRTT: Self.latency(limit.rttLongUs)
            )
        }
        queued = "\(upstream.queued)/\(upstream.maxQueue)"
        budget = upstream.budgetBalance
        // `in_rotation` once the agent reports health; before that, not ejected.
        let healthy = upstream.endpoints.filter { $0.inRotation || ($0.health.isEmpty && !$0.ejected) }.count
        endpoints = "\(healthy)/\(upstream.endpoints.count)"
        faults = upstream.faults.map { "\($0.id) \($0.description_p) \(FaultCommand.percent($0.spec.percent))" }
    }

    /// Open breakers first: they are what the operator came to look at.
    var breakerRank: Int {
        switch state {
        case .open: 0
        case .forcedOpen: 1
        case .halfOpen: 2
        case .forcedClosed: 3
        case .closed: 4
        case .UNRECOGNIZED: 5
        }
    }

    static let header = [
        "NAME", "BREAKER", "CALLS/S", "FAIL%", "P50", "P99", "IN_FLIGHT", "QUEUED", "BUDGET", "ENDPOINTS",
    ]

    var cells: [String] {
        [
            name, breaker, String(format: "%.1f", callsPerSecond),
            failurePercent.map { String(format: "%.1f", $0) } ?? "-",
            Self.latency(p50Microseconds), Self.latency(p99Microseconds),
            inFlight + (adaptive.map { " \($0.algorithm) rtt \($0.shortRTT)/\($0.longRTT)" } ?? ""), queued,
            "\(budget)", endpoints,
        ]
    }

    /// `key=value` fields for the plain output, which scripts read.
    var fields: String {
        let values = cells
        let faultIDs = faults.map { $0.prefix { $0 != " " } }.joined(separator: ",")
        let faultField = faults.isEmpty ? "" : " faults=\(faultIDs)"
        return "\(values[0]) breaker=\(state.name) calls/s=\(values[2]) fail%=\(values[3]) p50=\(values[4]) "
            + "p99=\(values[5]) "
            + "in_flight=\(inFlight.replacingOccurrences(of: " ", with: "")) queued=\(queued) budget=\(budget) "
            + "endpoints=\(endpoints)"
            + (adaptive.map { " \($0.algorithm)_limit=\($0.limit) rtt_short=\($0.shortRTT) rtt_long=\($0.longRTT)" }
                ?? "") + faultField
    }

    static func latency(_ microseconds: UInt64) -> String {
        switch microseconds {
        case 0: "-"
        case ..<1_000: "\(microseconds)us"
        case ..<1_000_000: String(format: "%.1fms", Double(microseconds) / 1_000)
        default: String(format: "%.2fs", Double(microseconds) / 1_000_000)
        }
    }
}

/// A line of the full-screen view and how to show it.
struct TopLine: Sendable, Equatable {
    enum Style: Sendable { case plain, heading, alert }
    var text: String
    var style: Style = .plain
}

/// The state of `levee top` between refreshes: the last snapshot, the rows derived from it and the one
/// before, and the sort order. Pure: the command fetches and draws.
struct TopBoard: Sendable {
    var sortKey: TopSortKey
    private(set) var snapshot: TopSnapshot?
    private(set) var rows: [TopRow] = []

    init(sortKey: TopSortKey = .name) {
        self.sortKey = sortKey
    }

    mutating func update(with next: TopSnapshot) {
        let previous = snapshot.map { snapshot in
            Dictionary(snapshot.upstreams.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }
        let elapsed = snapshot.map { Self.seconds(next.takenAt - $0.takenAt) } ?? 0
        rows = next.upstreams.map { TopRow($0, previous: previous?[$0.name], elapsed: elapsed) }
        snapshot = next
    }

    /// The rows in the chosen order; ties (and `name`) by name.
    var sortedRows: [TopRow] {
        rows.sorted { left, right in
            switch sortKey {
            case .name: break
            case .callRate where left.callsPerSecond != right.callsPerSecond:
                return left.callsPerSecond > right.callsPerSecond
            case .failureRate where left.failurePercent != right.failurePercent:
                return (left.failurePercent ?? -1) > (right.failurePercent ?? -1)
            case .latency where left.p99Microseconds != right.p99Microseconds:
                return left.p99Microseconds > right.p99Microseconds
            case .breaker where left.breakerRank != right.breakerRank:
                return left.breakerRank < right.breakerRank
            default: break
            }
            return left.name < right.name
        }
    }

    /// One line per upstream, each prefixed with `timestamp`: for scripts and logs.
    func plainLines(timestamp: String) -> [String] {
        sortedRows.map { "\(timestamp) \($0.fields)" }
    }

    /// The columns left out, in this order, while the table is wider than the terminal.
    static let droppableColumns = ["BUDGET", "QUEUED", "P50", "IN_FLIGHT", "ENDPOINTS"]

    /// The full-screen view: a header (agent, level, members, keys), the upstreams' table, then the
    /// pool's members as far as `height` allows. The table leaves out its least useful columns until it
    /// fits `width`; what is still too long is cut when drawn.
    func screenLines(width: Int, height: Int, clock: String) -> [TopLine] {
        guard let snapshot else { return [] }
        let status = snapshot.status
        var lines: [TopLine] = [
            TopLine(
                text:
                    "levee top  \(clock)  service \(status.service)  agent \(status.version) pid \(status.pid)  up \(Self.uptime(status.uptimeMs))  config generation \(status.configGeneration)",
                style: .heading
            ),
            TopLine(text: "level: \(Self.level(status.level))"),
            TopLine(text: "members: \(Self.membersSummary(status: status, members: snapshot.members))"),
            TopLine(text: "sort: \(sortKey.label)   keys: n name  c calls/s  f failure %  l p99  b breaker  q quit"),
            TopLine(text: ""),
        ]
        let table = Self.fittedTable(TopRow.header, sortedRows.map(\.cells), width: width)
        lines.append(TopLine(text: table[0], style: .heading))
        for (row, text) in zip(sortedRows, table.dropFirst()) {
            lines.append(
                TopLine(text: text, style: row.state == .closed || row.state == .forcedClosed ? .plain : .alert)
            )
        }
        if rows.isEmpty { lines.append(TopLine(text: "(no upstreams)")) }
        let faults = sortedRows.flatMap { row in row.faults.map { "\(row.name): \($0)" } }
        if !faults.isEmpty {
            lines.append(TopLine(text: ""))
            lines.append(TopLine(text: "chaos faults active: \(faults.joined(separator: "; "))", style: .alert))
        }

        let members = snapshot.members.members
        if snapshot.members.gossipEnabled && !members.isEmpty && lines.count + 3 <= height {
            lines.append(TopLine(text: ""))
            let memberTable = Self.table(
                ["MEMBER", "ADDRESS", "STATUS"],
                members.map { member in
                    [
                        member.name + (member.name == snapshot.members.localName ? " (this agent)" : ""),
                        member.address,
                        member.status,
                    ]
                }
            )
            lines.append(TopLine(text: memberTable[0], style: .heading))
            lines += memberTable.dropFirst().map { TopLine(text: $0) }
        }
        return Array(lines.prefix(max(height, 1)))
    }

    static func level(_ state: Levee_V1_ServiceLevelState) -> String {
        let name =
            switch state.level {
            case .full: "FULL"
            case .degraded: "DEGRADED"
            case .minimal: "MINIMAL"
            case .unspecified: "-"
            case .UNRECOGNIZED(let value): "unknown(\(value))"
            }
        return state.reasons.isEmpty ? name : "\(name) (\(state.reasons.joined(separator: "; ")))"
    }

    /// "3 (2 alive, 1 failed)", from the status when it counts them, else from the member list.
    static func membersSummary(status: Levee_V1_StatusResponse, members: Levee_V1_MembersResponse) -> String {
        var byStatus = status.membersByStatus
        if byStatus.isEmpty {
            for member in members.members { byStatus[member.status, default: 0] += 1 }
        }
        guard members.gossipEnabled || !byStatus.isEmpty else { return "not in a gossip pool" }
        let total = byStatus.values.reduce(0, +)
        let parts = byStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        return "\(total)" + (parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))")
    }

    static func uptime(_ milliseconds: UInt64) -> String {
        let seconds = milliseconds / 1000
        return switch seconds {
        case ..<60: "\(seconds)s"
        case ..<3600: "\(seconds / 60)m\(seconds % 60)s"
        default: "\(seconds / 3600)h\(seconds % 3600 / 60)m"
        }
    }

    /// ``table(_:_:)`` without the ``droppableColumns`` it takes to fit `width`, as far as they go.
    static func fittedTable(_ header: [String], _ rows: [[String]], width: Int) -> [String] {
        var header = header
        var rows = rows
        var table = Self.table(header, rows)
        for column in droppableColumns {
            guard table.contains(where: { $0.count > width }) else { break }
            guard let index = header.firstIndex(of: column) else { continue }
            header.remove(at: index)
            for row in rows.indices { rows[row].remove(at: index) }
            table = Self.table(header, rows)
        }
        return table
    }

    /// Rows under a header, columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
