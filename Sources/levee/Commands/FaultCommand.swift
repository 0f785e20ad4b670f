import ArgumentParser
import Foundation
import LeveeAPI
import LeveeConfiguration

/// `levee fault add|list|clear`: chaos faults injected at the agent's attempts. The agent refuses them
/// all unless its configuration says `chaos: { enabled: true }`.
struct FaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault",
        abstract: "Inject chaos faults into an upstream's attempts, list them, clear them.",
        discussion: """
            Faults act at the attempt: the breaker, retries, outlier detection and fallback see them as \
            real failures. They live in the agent's memory only: they expire on time (--for), a restart \
            clears them, a reload keeps them. The agent must be configured with chaos: { enabled: true }.
            """,
        subcommands: [Add.self, List.self, Clear.self]
    )
}

extension FaultCommand {
    /// `levee fault add UPSTREAM ...`: prints the new fault's id.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a fault to UPSTREAM's attempts; print its id.",
            discussion: """
                One of --abort, --abort-grpc, --reset, --blackhole, and/or --delay. --abort answers that \
                HTTP status without calling the upstream, --abort-grpc that gRPC code; --reset fails the \
                attempt as a connection reset; --blackhole sends nothing and never answers (the attempt \
                runs into its timeout); --delay waits before the attempt (and before the abort, if any).
                """
        )

        @Argument(help: "The upstream whose attempts the fault hits.")
        var upstream: String

        @Option(help: ArgumentHelp("Answer this HTTP status without calling the upstream.", valueName: "STATUS"))
        var abort: Int?

        @Option(
            name: .customLong("abort-grpc"),
            help: ArgumentHelp("Answer this gRPC status code without calling the upstream.", valueName: "CODE")
        )
        var abortGRPC: Int?

        @Flag(help: "Fail the attempt as a connection reset.")
        var reset = false

        @Flag(help: "Send nothing and never answer: the attempt runs into its timeout.")
        var blackhole = false

        @Option(help: ArgumentHelp("Wait this long before the attempt (250ms, 2s).", valueName: "DURATION"))
        var delay: String?

        @Option(help: ArgumentHelp("The share of matching attempts hit, in (0, 100].", valueName: "P"))
        var percent: Double = 100

        @Option(help: ArgumentHelp("Only attempts to this endpoint.", valueName: "HOST:PORT"))
        var endpoint: String?

        @Option(help: ArgumentHelp("Only requests carrying this header with this value.", valueName: "NAME=VALUE"))
        var header: String?

        @Option(
            name: .customLong("for"),
            help: ArgumentHelp(
                "How long the fault stays (default 5m, capped by chaos.max_duration).",
                valueName: "DURATION"
            )
        )
        var duration: String?

        @OptionGroup var sockets: SocketOptions

        func validate() throws {
            let actions = [abort != nil, abortGRPC != nil, reset, blackhole].filter { $0 }.count
            guard actions <= 1 else {
                throw ValidationError("at most one of --abort, --abort-grpc, --reset, --blackhole")
            }
            guard actions == 1 || delay != nil else {
                throw ValidationError("one of --abort, --abort-grpc, --reset, --blackhole or --delay")
            }
            if let abort, !(100...599).contains(abort) {
                throw ValidationError("--abort: an HTTP status from 100 to 599")
            }
            if let abortGRPC, !(1...16).contains(abortGRPC) {
                throw ValidationError("--abort-grpc: a gRPC status code from 1 to 16")
            }
            guard percent > 0, percent <= 100 else { throw ValidationError("--percent: a number in (0, 100]") }
            _ = try milliseconds(delay, option: "--delay")
            _ = try milliseconds(duration, option: "--for")
            if let header, header.firstIndex(of: "=").map({ $0 == header.startIndex }) ?? true {
                throw ValidationError("--header: NAME=VALUE")
            }
        }

        /// A duration option in whole milliseconds (0 when absent).
        private func milliseconds(_ text: String?, option: String) throws -> UInt32 {
            guard let text else { return 0 }
            guard let duration = Duration(configurationText: text), duration > .zero,
                duration <= .seconds(Int64(UInt32.max / 1000))
            else {
                throw ValidationError("\(option): a positive duration such as 250ms, 30s or 5m")
            }
            return UInt32(clamping: Int64((duration / .milliseconds(1)).rounded(.up)))
        }

        func run() async throws {
            var spec = Levee_V1_FaultSpec()
            spec.upstream = upstream
            if let abort {
                spec.kind = .abort
                spec.httpStatus = UInt32(abort)
            } else if let abortGRPC {
                spec.kind = .abortGrpc
                spec.grpcCode = UInt32(abortGRPC)
            } else if reset {
                spec.kind = .reset
            } else if blackhole {
                spec.kind = .blackhole
            } else {
                spec.kind = .delay
            }
            spec.delayMs = try milliseconds(delay, option: "--delay")
            spec.durationMs = try milliseconds(duration, option: "--for")
            spec.percent = percent
            spec.endpoint = endpoint ?? ""
            if let header, let equals = header.firstIndex(of: "=") {
                spec.headerName = String(header[..<equals])
                spec.headerValue = String(header[header.index(after: equals)...])
            }
            var request = Levee_V1_AddFaultRequest()
            request.fault = spec
            request.source = "cli"
            let fault = try await sockets.withAdmin { [request] in try await $0.addFault(request) }.fault
            if sockets.json {
                printJSON(FaultCommand.json(fault))
            } else {
                print(fault.id)
            }
        }
    }

    /// `levee fault list`: the active faults.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the active faults: id, upstream, kind, percent, endpoint, header, time left, hits."
        )

        @Argument(help: "Only this upstream's faults.")
        var upstream: String?

        @OptionGroup var sockets: SocketOptions

        func run() async throws {
            var request = Levee_V1_ListFaultsRequest()
            request.upstream = upstream ?? ""
            let response = try await sockets.withAdmin { [request] in try await $0.listFaults(request) }
            if sockets.json {
                printJSON(response.faults.map(FaultCommand.json))
                return
            }
            guard !response.faults.isEmpty else {
                print(
                    "no active faults (at most \(response.maxActive), each for at most \(FaultCommand.left(response.maxDurationMs)))"
                )
                return
            }
            printTable(FaultCommand.header, response.faults.map(FaultCommand.cells))
        }
    }

    /// `levee fault clear ID` or `levee fault clear --all`.
    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clear a fault by its id, or every fault (--all).")

        @Argument(help: "The fault's id (f1, f2, ...).")
        var id: String?

        @Flag(help: "Clear every active fault.")
        var all = false

        @OptionGroup var sockets: SocketOptions

        func validate() throws {
            guard (id == nil) == all else { throw ValidationError("give a fault's ID, or --all (not both)") }
        }

        func run() async throws {
            var request = Levee_V1_ClearFaultsRequest()
            request.id = id ?? ""
            request.all = all
            let cleared = try await sockets.withAdmin { [request] in try await $0.clearFaults(request) }.cleared
            if sockets.json {
                printJSON(["cleared": cleared])
            } else if cleared.isEmpty {
                print("no active faults")
            } else {
                print("cleared \(cleared.joined(separator: ", "))")
            }
        }
    }
}

extension FaultCommand {
    static let header = ["ID", "UPSTREAM", "KIND", "PERCENT", "ENDPOINT", "HEADER", "LEFT", "HITS", "SOURCE"]

    static func cells(_ fault: Levee_V1_Fault) -> [String] {
        let spec = fault.spec
        return [
            fault.id, spec.upstream, fault.description_p, percent(spec.percent),
            spec.endpoint.isEmpty ? "*" : spec.endpoint,
            spec.headerName.isEmpty ? "*" : "\(spec.headerName)=\(spec.headerValue)", left(fault.remainingMs),
            "\(fault.hits)", fault.source,
        ]
    }

    /// `30%`, `12.5%`.
    static func percent(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))%" : "\(value)%"
    }

    /// Time left for a human: `4m59s`, `12s`, `800ms`.
    static func left(_ milliseconds: UInt32) -> String {
        switch milliseconds {
        case ..<1_000: "\(milliseconds)ms"
        case ..<60_000: "\(milliseconds / 1000)s"
        default: "\(milliseconds / 60_000)m\(milliseconds / 1000 % 60)s"
        }
    }

    /// A fault with stable keys (absent filters and codes are null), for `--json`.
    static func json(_ fault: Levee_V1_Fault) -> [String: Any] {
        let spec = fault.spec
        let kind: String =
            switch spec.kind {
            case .abort: "abort"
            case .abortGrpc: "abort_grpc"
            case .reset: "reset"
            case .blackhole: "blackhole"
            case .delay: "delay"
            case .unspecified, .UNRECOGNIZED: "unknown"
            }
        let null: Any = NSNull()
        let header: Any = spec.headerName.isEmpty ? null : ["name": spec.headerName, "value": spec.headerValue] as Any
        return [
            "id": fault.id, "upstream": spec.upstream, "kind": kind, "description": fault.description_p,
            "http_status": spec.kind == .abort ? Int(spec.httpStatus) as Any : null,
            "grpc_code": spec.kind == .abortGrpc ? Int(spec.grpcCode) as Any : null,
            "delay_ms": Int(spec.delayMs), "percent": spec.percent,
            "endpoint": spec.endpoint.isEmpty ? null : spec.endpoint as Any, "header": header,
            "duration_ms": Int(spec.durationMs), "remaining_ms": Int(fault.remainingMs), "hits": Int(fault.hits),
            "source": fault.source,
        ]
    }
}
