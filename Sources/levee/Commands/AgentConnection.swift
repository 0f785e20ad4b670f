import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeAPI
import LeveeAgent
import LeveeConfiguration

/// Where the CLI finds the agent: `--socket`/`--admin-socket`, else `LEVEE_SOCKET`/`LEVEE_ADMIN_SOCKET`,
/// else the built-in defaults.
struct SocketOptions: ParsableArguments {
    @Option(help: "The agent's Guard API socket (else $LEVEE_SOCKET, else the default).")
    var socket: String?

    @Option(
        name: .customLong("admin-socket"),
        help: "The agent's admin socket (else $LEVEE_ADMIN_SOCKET, else the default)."
    )
    var adminSocket: String?

    @Flag(help: "Print machine-readable JSON.")
    var json = false

    private var defaults: ListenConfiguration {
        AgentConfiguration.builtIn(environment: ProcessInfo.processInfo.environment, uid: getuid()).listen
    }

    var guardSocketPath: String {
        socket ?? ProcessInfo.processInfo.environment["LEVEE_SOCKET"] ?? defaults.socket
    }

    var adminSocketPath: String {
        adminSocket ?? ProcessInfo.processInfo.environment["LEVEE_ADMIN_SOCKET"] ?? defaults.adminSocket
    }

    /// Runs `body` with a client of the admin socket.
    func withAdmin<R: Sendable>(
        _ body: @Sendable (Levee_V1_Admin.Client<HTTP2ClientTransport.Posix>) async throws -> R
    ) async throws -> R {
        try await withAgent(at: adminSocketPath) { try await body(Levee_V1_Admin.Client(wrapping: $0)) }
    }

    /// Runs `body` with a client of the Guard socket.
    func withGuard<R: Sendable>(
        _ body: @Sendable (Levee_V1_Guard.Client<HTTP2ClientTransport.Posix>) async throws -> R
    ) async throws -> R {
        try await withAgent(at: guardSocketPath) { try await body(Levee_V1_Guard.Client(wrapping: $0)) }
    }

    func withAgent<R: Sendable>(
        at path: String,
        _ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R
    ) async throws -> R {
        guard UnixListeningSocket.isAnswering(path) else {
            FileHandle.standardError.write(
                Data(
                    """
                    levee: no agent answers on \(path).
                    Start one with `levee agent` (or `swift run -c release levee agent` in the source tree), \
                    or point to it with --socket/--admin-socket or LEVEE_SOCKET/LEVEE_ADMIN_SOCKET.

                    """.utf8
                )
            )
            throw ExitCode(3)
        }
        do {
            return try await withGRPCClient(
                transport: .http2NIOPosix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
            ) { client in
                try await body(client)
            }
        } catch let error as RPCError {
            FileHandle.standardError.write(Data("levee: \(error.message) (\(error.code))\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Prints a JSON value with sorted keys, one document per command.
func printJSON(_ value: Any) {
    if let data = try? JSONSerialization.data(
        withJSONObject: value,
        options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    ),
        let text = String(data: data, encoding: .utf8)
    {
        print(text)
    }
}

/// Prints rows under a header, columns padded to their widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in
        ([header] + rows).map { $0[column].count }.max() ?? 0
    }
    for row in [header] + rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

extension Levee_V1_BreakerState {
    /// The CLI and JSON spelling: closed, open, half_open, forced_open, forced_closed.
    var name: String {
        switch self {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half_open"
        case .forcedOpen: "forced_open"
        case .forcedClosed: "forced_closed"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}

extension Levee_V1_StateSource {
    var name: String {
        switch self {
        case .local: "local"
        case .peers: "peers"
        case .operator: "operator"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}

extension Levee_V1_Outcome {
    /// The outcome's name without its prefix: OK, UPSTREAM_FAILURE, …
    var name: String {
        switch self {
        case .unspecified: "UNSPECIFIED"
        case .ok: "OK"
        case .upstreamFailure: "UPSTREAM_FAILURE"
        case .timeout: "TIMEOUT"
        case .connectFailure: "CONNECT_FAILURE"
        case .circuitOpen: "CIRCUIT_OPEN"
        case .bulkheadFull: "BULKHEAD_FULL"
        case .noHealthyEndpoint: "NO_HEALTHY_ENDPOINT"
        case .faultInjected: "FAULT_INJECTED"
        case .UNRECOGNIZED(let value): "UNKNOWN(\(value))"
        }
    }
}

extension Levee_V1_Fallback {
    var name: String {
        switch self {
        case .none: "none"
        case .static: "static"
        case .stale: "stale"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}
