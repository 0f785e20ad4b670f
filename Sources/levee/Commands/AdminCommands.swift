import ArgumentParser
import Foundation
import LeveeAPI
import LeveeConfiguration

/// `levee status`: the agent's version, sockets, configuration and load.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the running agent: version, sockets, configuration, load."
    )

    @OptionGroup var sockets: SocketOptions

    func run() async throws {
        let status = try await sockets.withAdmin { try await $0.status(Levee_V1_StatusRequest()) }
        if sockets.json {
            printJSON([
                "version": status.version, "service": status.service, "pid": Int(status.pid),
                "uptime_ms": Int(status.uptimeMs), "config": status.configPath, "socket": status.socket,
                "admin_socket": status.adminSocket, "upstreams": Int(status.upstreams),
                "in_flight": Int(status.inFlight),
                "config_generation": Int(status.configGeneration), "open_breakers": status.openBreakers,
                "level": status.level.level.name, "level_reasons": status.level.reasons,
                "http_listen": status.httpListen, "members_by_status": status.membersByStatus.mapValues { Int($0) },
            ])
            return
        }
        print(
            "levee agent \(status.version), service \(status.service), pid \(status.pid), up \(status.uptimeMs / 1000)s"
        )
        print(
            "config:       \(status.configPath.isEmpty ? "built-in defaults" : status.configPath) (generation \(status.configGeneration))"
        )
        print("socket:       \(status.socket)")
        print("admin socket: \(status.adminSocket)")
        print("metrics:      \(status.httpListen.isEmpty ? "off" : "http://\(status.httpListen)/metrics")")
        if !status.membersByStatus.isEmpty {
            let members = status.membersByStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            print("gossip pool:  \(members.joined(separator: ", "))")
        }
        print("upstreams:    \(status.upstreams), in flight: \(status.inFlight)")
        print(
            "breakers not closed: \(status.openBreakers.isEmpty ? "none" : status.openBreakers.joined(separator: ", "))"
        )
        let reasons = status.level.reasons.isEmpty ? "" : " (\(status.level.reasons.joined(separator: "; ")))"
        print("service level: \(status.level.level.name.uppercased())\(reasons)")
    }
}

extension Levee_V1_ServiceLevel {
    /// `full`, `degraded` or `minimal` (`unknown` from an agent that does not say).
    var name: String {
        switch self {
        case .full: "full"
        case .degraded: "degraded"
        case .minimal: "minimal"
        case .unspecified, .UNRECOGNIZED: "unknown"
        }
    }
}

/// `levee upstreams`: every upstream with its live policy state.
struct Upstreams: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the upstreams with their breaker, bulkhead, budget and endpoints."
    )

    @Argument(help: "Only this upstream.")
    var name: String?

    @OptionGroup var sockets: SocketOptions

    func run() async throws {
        var request = Levee_V1_ListUpstreamsRequest()
        request.name = name ?? ""
        let upstreams = try await sockets.withAdmin { [request] in try await $0.listUpstreams(request) }.upstreams
        if sockets.json {
            printJSON(upstreams.map(Self.json))
            return
        }
        printTable(
            [
                "NAME", "PROTO", "BREAKER", "FAIL%", "WINDOW", "IN_FLIGHT", "QUEUED", "BUDGET", "ENDPOINTS", "CALLS",
                "OK",
            ],
            upstreams.map { upstream in
                let healthy = upstream.endpoints.filter(\.inRotation).count
                var breaker = upstream.breaker.state.name
                if upstream.breaker.source != .local { breaker += " (\(upstream.breaker.source.name))" }
                if upstream.breaker.retryAfterMs > 0 { breaker += " \(upstream.breaker.retryAfterMs)ms" }
                return [
                    upstream.name + (upstream.dynamic ? "*" : ""), upstream.protocol, breaker,
                    String(format: "%.0f", upstream.breaker.failureRate),
                    "\(upstream.breaker.windowCalls)/\(upstream.breaker.minCalls)",
                    "\(upstream.inFlight)/\(upstream.maxConcurrent)", "\(upstream.queued)/\(upstream.maxQueue)",
                    "\(upstream.budgetBalance)", "\(healthy)/\(upstream.endpoints.count)",
                    "\(upstream.counters.calls)", "\(upstream.counters.ok)",
                ]
            }
        )
        let adaptive = upstreams.filter(\.hasAdaptive)
        if !adaptive.isEmpty {
            print("")
            printTable(
                ["UPSTREAM", "ADAPTIVE", "LIMIT", "MIN", "MAX", "RTT_SHORT", "RTT_LONG", "SAMPLES"],
                adaptive.map { upstream in
                    let limit = upstream.adaptive
                    return [
                        upstream.name, limit.algorithm, "\(limit.limit)", "\(limit.min)", "\(limit.max)",
                        TopRow.latency(limit.rttShortUs), TopRow.latency(limit.rttLongUs), "\(limit.samples)",
                    ]
                }
            )
        }
        // Peers' breaker reports (gossip `share: advisory` or `follow`): who reports each upstream open.
        let reported = upstreams.filter { !$0.peersReportingOpen.isEmpty }
        if !reported.isEmpty {
            print("")
            printTable(
                ["UPSTREAM", "PEERS_REPORTING_OPEN"],
                reported.map { [$0.name, $0.peersReportingOpen.joined(separator: ",")] }
            )
        }
        let faults = upstreams.flatMap(\.faults)
        if !faults.isEmpty {
            print("")
            printTable(FaultCommand.header, faults.map(FaultCommand.cells))
        }
        let endpoints = upstreams.flatMap { upstream in upstream.endpoints.map { (upstream.name, $0) } }
        guard !endpoints.isEmpty else { return }
        print("")
        printTable(
            ["UPSTREAM", "ENDPOINT", "ROTATION", "HEALTH", "EJECTED", "IN_FLIGHT", "FAILURES", "DETAIL"],
            endpoints.map { name, endpoint in
                [
                    name, endpoint.address, endpoint.inRotation ? "in" : "out",
                    endpoint.health.isEmpty ? "unchecked" : endpoint.health,
                    endpoint.ejected ? "\(endpoint.ejectedForMs)ms" : "-", "\(endpoint.inFlight)",
                    "\(endpoint.consecutiveFailures)", endpoint.healthDetail.isEmpty ? "-" : endpoint.healthDetail,
                ]
            }
        )
    }

    static func json(_ upstream: Levee_V1_UpstreamInfo) -> [String: Any] {
        var object = plainJSON(upstream)
        object["faults"] = upstream.faults.map(FaultCommand.json)
        if upstream.hasAdaptive {
            let limit = upstream.adaptive
            object["adaptive"] =
                [
                    "algorithm": limit.algorithm, "limit": Int(limit.limit), "min": Int(limit.min),
                    "max": Int(limit.max),
                    "rtt_short_us": Int(limit.rttShortUs), "rtt_long_us": Int(limit.rttLongUs),
                    "samples": Int(limit.samples),
                ] as [String: Any]
        }
        return object
    }

    private static func plainJSON(_ upstream: Levee_V1_UpstreamInfo) -> [String: Any] {
        let counters = upstream.counters
        return [
            "name": upstream.name, "protocol": upstream.protocol, "dynamic": upstream.dynamic,
            "breaker": upstream.breaker.state.name, "breaker_source": upstream.breaker.source.name,
            "failure_rate": upstream.breaker.failureRate, "slow_call_rate": upstream.breaker.slowCallRate,
            "window_calls": Int(upstream.breaker.windowCalls), "window_failures": Int(upstream.breaker.windowFailures),
            "retry_after_ms": Int(upstream.breaker.retryAfterMs),
            "in_flight": Int(upstream.inFlight), "queued": Int(upstream.queued),
            "max_concurrent": Int(upstream.maxConcurrent), "max_queue": Int(upstream.maxQueue),
            "budget_balance": Int(upstream.budgetBalance), "leases": Int(upstream.leases),
            "peers_reporting_open": upstream.peersReportingOpen,
            "endpoints": upstream.endpoints.map { endpoint in
                [
                    "address": endpoint.address, "ejected": endpoint.ejected, "in_flight": Int(endpoint.inFlight),
                    "consecutive_failures": Int(endpoint.consecutiveFailures),
                    "ejected_for_ms": Int(endpoint.ejectedForMs), "health": endpoint.health,
                    "health_detail": endpoint.healthDetail, "in_rotation": endpoint.inRotation,
                ] as [String: Any]
            },
            "counters": [
                "calls": Int(counters.calls), "ok": Int(counters.ok), "upstream_failure": Int(counters.upstreamFailure),
                "timeout": Int(counters.timeout), "connect_failure": Int(counters.connectFailure),
                "circuit_open": Int(counters.circuitOpen), "bulkhead_full": Int(counters.bulkheadFull),
                "no_healthy_endpoint": Int(counters.noHealthyEndpoint), "attempts": Int(counters.attempts),
                "retries": Int(counters.retries), "retries_denied_by_budget": Int(counters.retriesDeniedByBudget),
                "fallbacks_stale": Int(counters.fallbacksStale), "fallbacks_static": Int(counters.fallbacksStatic),
            ],
        ]
    }
}

/// `levee breaker open|close|reset UPSTREAM`: operator overrides.
struct Breaker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Force an upstream's breaker open or closed, or reset it to its own judgement.",
        discussion:
            "open: reject every call. close: let every call through, never trip. reset: CLOSED with a fresh window."
    )

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case open, close, reset
    }

    @Argument(help: "open, close or reset.")
    var action: Action

    @Argument(help: "The upstream.")
    var upstream: String

    @OptionGroup var sockets: SocketOptions

    func run() async throws {
        var request = Levee_V1_SetBreakerRequest()
        request.upstream = upstream
        request.action =
            switch action {
            case .open: .open
            case .close: .close
            case .reset: .reset
            }
        let response = try await sockets.withAdmin { [request] in try await $0.setBreaker(request) }
        if sockets.json {
            printJSON(["upstream": upstream, "previous": response.previous.name, "breaker": response.current.name])
        } else {
            print("\(upstream): breaker \(response.previous.name) -> \(response.current.name)")
        }
    }
}

/// `levee reload`: re-read the configuration file and swap it in.
struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the agent re-read its configuration file; an invalid file changes nothing."
    )

    @OptionGroup var sockets: SocketOptions

    func run() async throws {
        let response = try await sockets.withAdmin { try await $0.reload(Levee_V1_ReloadRequest()) }
        if sockets.json {
            printJSON([
                "config_generation": Int(response.configGeneration), "added": response.added,
                "removed": response.removed, "changed": response.changed, "unchanged": response.unchanged,
            ])
            return
        }
        print("reloaded: generation \(response.configGeneration)")
        for (label, names) in [("added", response.added), ("removed", response.removed), ("changed", response.changed)]
        where !names.isEmpty {
            print("  \(label): \(names.joined(separator: ", "))")
        }
    }
}

/// `levee validate FILE`: check a configuration without starting anything.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration file; print the first error with its key path."
    )

    @Argument(help: "The YAML configuration file.")
    var file: String

    @Flag(help: "Print machine-readable JSON.")
    var json = false

    func run() throws {
        do {
            let configuration = try AgentConfiguration.load(
                contentsOf: file,
                environment: ProcessInfo.processInfo.environment,
                uid: getuid()
            )
            if json {
                printJSON([
                    "valid": true, "file": file, "service": configuration.service,
                    "upstreams": configuration.upstreams.map(\.name),
                ])
            } else {
                print(
                    "\(file): valid: service \(configuration.service), \(configuration.upstreams.count) upstreams (\(configuration.upstreams.map(\.name).joined(separator: ", ")))"
                )
            }
        } catch {
            if json {
                printJSON([
                    "valid": false, "file": error.file, "key_path": error.keyPath, "value": error.value,
                    "expected": error.expected, "line": error.line as Any? ?? NSNull(), "error": error.description,
                ])
            } else {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
            }
            throw ExitCode(1)
        }
    }
}

/// `levee members`: the gossip pool as the agent sees it.
struct Members: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the members of the agent's gossip pool: name, address, status, tags."
    )

    @OptionGroup var sockets: SocketOptions

    func run() async throws {
        let response = try await sockets.withAdmin { try await $0.members(Levee_V1_MembersRequest()) }
        if sockets.json {
            printJSON(
                response.members.map { member in
                    [
                        "name": member.name, "address": member.address, "status": member.status, "tags": member.tags,
                        "local": member.name == response.localName,
                    ] as [String: Any]
                }
            )
            return
        }
        guard response.gossipEnabled else {
            print("the agent has no gossip section in its configuration: it is not in a pool")
            return
        }
        printTable(
            ["NAME", "ADDRESS", "STATUS", "TAGS"],
            response.members.map { member in
                [
                    member.name + (member.name == response.localName ? " (this agent)" : ""), member.address,
                    member.status,
                    member.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                ]
            }
        )
    }
}
