import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeAPI
import LeveeAgent
import UnixSignals

/// `levee top`: the agent's upstreams, refreshed every second, over the admin socket.
struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch the upstreams live: breaker, calls/s, failure %, latency, bulkhead, budget, endpoints.",
        discussion: """
            On a terminal it takes the screen and redraws every --interval; keys: n name, c calls/s, \
            f failure %, l p99 latency, b breaker (open first) to sort; q or Ctrl-C to quit. When standard \
            output is not a terminal, or with --once, it prints one plain line per upstream per refresh, \
            each starting with the time (--json: one JSON object per line). When no agent answers it \
            says so and keeps trying; with --once it exits 3.
            """
    )

    @OptionGroup var sockets: SocketOptions

    @Option(help: "Milliseconds between refreshes.")
    var interval: Int = 1000

    @Flag(help: "Refresh once, print plain lines, and exit.")
    var once = false

    @Option(help: "The first sort order: name, calls, failures, latency or breaker.")
    var sort: SortOption = .name

    enum SortOption: String, ExpressibleByArgument, CaseIterable {
        case name, calls, failures, latency, breaker

        var key: TopSortKey {
            switch self {
            case .name: .name
            case .calls: .callRate
            case .failures: .failureRate
            case .latency: .latency
            case .breaker: .breaker
            }
        }
    }

    func validate() throws {
        guard interval >= 50 else { throw ValidationError("--interval: at least 50 milliseconds") }
    }

    func run() async throws {
        if TerminalSession.isOutputTerminal && !once && !sockets.json {
            try await runScreen()
        } else {
            try await runPlain()
        }
    }

    // MARK: Plain lines

    private func runPlain() async throws {
        let path = sockets.adminSocketPath
        var board = TopBoard(sortKey: sort.key)
        while true {
            let timestamp = Self.timestamp()
            if let snapshot = await Self.fetch(path) {
                board.update(with: snapshot)
                if sockets.json {
                    for upstream in board.sortedRows {
                        Self.printJSONLine(upstream, snapshot: snapshot, timestamp: timestamp)
                    }
                } else {
                    for line in board.plainLines(timestamp: timestamp) { print(line) }
                }
            } else {
                FileHandle.standardError.write(Data("\(timestamp) no agent answers on \(path)\n".utf8))
                if once { throw ExitCode(3) }
            }
            fflush(nil)
            if once { return }
            try await Task.sleep(for: .milliseconds(interval))
        }
    }

    private static func printJSONLine(_ row: TopRow, snapshot: TopSnapshot, timestamp: String) {
        guard let upstream = snapshot.upstreams.first(where: { $0.name + ($0.dynamic ? "*" : "") == row.name }) else {
            return
        }
        var object = Upstreams.json(upstream)
        object["time"] = timestamp
        object["calls_per_second"] = row.callsPerSecond
        object["failure_percent"] = row.failurePercent as Any? ?? NSNull()
        object["latency_p50_us"] = Int(upstream.latencyP50Us)
        object["latency_p99_us"] = Int(upstream.latencyP99Us)
        if let data = try? JSONSerialization.data(
            withJSONObject: object,
            options: [.sortedKeys, .withoutEscapingSlashes]
        ) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    // MARK: Full screen

    /// What wakes the screen loop.
    private enum Event: Sendable {
        case tick
        case key(UInt8)
        case resize
        case quit
    }

    private func runScreen() async throws {
        let path = sockets.adminSocketPath
        // Trapped before the terminal changes, so that every way out goes through `restore()`.
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm, .sighup, .sigwinch)
        let terminal = TerminalSession()
        terminal.enter()
        defer { terminal.restore() }

        let (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(64))
        let period = Duration.milliseconds(interval)
        var board = TopBoard(sortKey: sort.key)
        var answering = true
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    continuation.yield(.tick)
                    try? await Task.sleep(for: period)
                }
            }
            group.addTask {
                // Polls the keyboard rather than blocking a thread of the cooperative pool in `read`.
                while !Task.isCancelled {
                    for byte in TerminalSession.readKeys() { continuation.yield(.key(byte)) }
                    try? await Task.sleep(for: .milliseconds(30))
                }
            }
            group.addTask {
                for await signal in signals {
                    continuation.yield(signal == .sigwinch ? .resize : .quit)
                }
            }

            loop: for await event in events {
                switch event {
                case .tick:
                    if let snapshot = await Self.fetch(path) {
                        board.update(with: snapshot)
                        answering = true
                    } else {
                        answering = false
                    }
                case .key(let byte):
                    switch byte {
                    case UInt8(ascii: "q"), UInt8(ascii: "Q"), 3, 4:  // q, Ctrl-C, Ctrl-D
                        break loop
                    default:
                        guard let key = TopSortKey(rawValue: Character(Unicode.Scalar(byte))) else { continue loop }
                        board.sortKey = key
                    }
                case .resize:
                    break
                case .quit:
                    break loop
                }
                let (columns, rows) = TerminalSession.size()
                let lines =
                    answering
                    ? board.screenLines(width: columns, height: rows, clock: Self.clock())
                    : [
                        TopLine(text: "levee top   \(Self.clock())", style: .heading),
                        TopLine(text: "no agent answers on \(path): retrying every \(period) (q quits)", style: .alert),
                    ]
                TerminalSession.draw(lines, columns: columns)
            }
            continuation.finish()
            group.cancelAll()
        }
    }

    // MARK: The agent

    /// One refresh over the admin socket; nil when no agent answers (or it does not answer in time).
    static func fetch(_ path: String) async -> TopSnapshot? {
        guard UnixListeningSocket.isAnswering(path) else { return nil }
        do {
            return try await withGRPCClient(
                transport: .http2NIOPosix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
            ) { connection in
                let admin = Levee_V1_Admin.Client(wrapping: connection)
                var options = CallOptions.defaults
                options.timeout = .seconds(3)
                let status = try await admin.status(Levee_V1_StatusRequest(), options: options)
                let upstreams = try await admin.listUpstreams(Levee_V1_ListUpstreamsRequest(), options: options)
                let members = try await admin.members(Levee_V1_MembersRequest(), options: options)
                return TopSnapshot(
                    status: status,
                    upstreams: upstreams.upstreams,
                    members: members,
                    takenAt: .now
                )
            }
        } catch {
            return nil
        }
    }

    /// UTC, to the millisecond: `2026-11-29T22:40:01.123Z`.
    static func timestamp() -> String {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return format.string(from: Date())
    }

    static func clock() -> String {
        let format = DateFormatter()
        format.dateFormat = "HH:mm:ss"
        return format.string(from: Date())
    }
}
