import ArgumentParser
import Foundation
import LeveeAPI

/// `levee call UPSTREAM PATH`: one guarded HTTP call through the Guard API, as an app would make it.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Make one guarded HTTP call through the agent and print its outcome and body.",
        discussion: "Exits 0 when the outcome is OK, 1 otherwise (the body may then be a fallback)."
    )

    @Argument(help: "The upstream: its configured name, or host:port when dynamic upstreams are on.")
    var upstream: String

    @Argument(help: "The path and query, starting with /.")
    var path: String

    @Option(name: .customShort("X"), help: "The HTTP method.")
    var method: String = "GET"

    @Option(name: .customShort("d"), help: "The request body.")
    var data: String?

    @Option(name: .customShort("H"), help: "A header, 'Name: value'; repeat for several.")
    var header: [String] = []

    @Option(help: "The call's timeout in milliseconds (0: the upstream's timeouts.total).")
    var timeout: UInt32 = 0

    @Option(help: "normal, critical or sheddable.")
    var priority: String = "normal"

    @Option(name: .customLong("idempotency-key"), help: "Makes a POST safe to retry.")
    var idempotencyKey: String?

    @OptionGroup var sockets: SocketOptions

    func run() async throws {
        var http = Levee_V1_HttpRequest()
        http.method = method.uppercased()
        http.path = path
        http.body = Data((data ?? "").utf8)
        for line in header {
            guard let colon = line.firstIndex(of: ":") else {
                throw ValidationError("-H \(line): expected 'Name: value'")
            }
            var field = Levee_V1_Header()
            field.name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            field.value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            http.headers.append(field)
        }
        var request = Levee_V1_CallRequest()
        request.upstream = upstream
        request.http = http
        request.timeoutMs = timeout
        request.idempotencyKey = idempotencyKey ?? ""
        request.priority =
            switch priority.lowercased() {
            case "normal": .normal
            case "critical": .critical
            case "sheddable": .sheddable
            default: throw ValidationError("--priority: expected normal, critical or sheddable")
            }

        let response = try await sockets.withGuard { [request] in try await $0.call(request) }
        let body = String(decoding: response.http.body, as: UTF8.self)
        if sockets.json {
            printJSON([
                "outcome": response.outcome.name, "fallback": response.fallback.name,
                "attempts": Int(response.attempts),
                "endpoint": response.endpoint, "elapsed_us": Int(response.elapsedUs),
                "retry_after_ms": Int(response.retryAfterMs), "detail": response.detail,
                "status": Int(response.http.status),
                "headers": response.http.headers.map { ["name": $0.name, "value": $0.value] },
                "body": body, "fault": response.fault.isEmpty ? NSNull() as Any : response.fault,
                "faulted_attempts": Int(response.faultedAttempts),
            ])
        } else {
            var line = "\(response.outcome.name)"
            if case .http? = response.response { line += " \(response.http.status)" }
            if response.fallback != .none { line += " (fallback: \(response.fallback.name))" }
            line += " attempts=\(response.attempts)"
            if !response.endpoint.isEmpty { line += " endpoint=\(response.endpoint)" }
            line += " elapsed=\(Double(response.elapsedUs) / 1000)ms"
            if response.retryAfterMs > 0 { line += " retry_after=\(response.retryAfterMs)ms" }
            if response.faultedAttempts > 0 { line += " faulted_attempts=\(response.faultedAttempts)" }
            FileHandle.standardError.write(Data("\(line)\n\(response.detail)\n".utf8))
            print(body)
        }
        if response.outcome != .ok { throw ExitCode(1) }
    }
}
