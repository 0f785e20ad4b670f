import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeAPI
public import LeveeConfiguration
import LeveePolicy
import Synchronization

/// Forwards unary gRPC calls as opaque bytes: one `GRPCClient` per endpoint, made on first use and
/// kept, its connections run by the agent's `GRPCClientRunner`.
///
/// The attempt timeout becomes the call's gRPC timeout, so the upstream receives `grpc-timeout`. Calls
/// never wait for a connection to become ready: an endpoint that cannot be reached fails the attempt
/// at once, so that the runtime can retry it on another endpoint.
public final class GRPCExecutor: UpstreamExecutor {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    private let runner: GRPCClientRunner
    private let clients = Mutex<[EndpointAddress: Client]>([:])

    public init(runner: GRPCClientRunner) {
        self.runner = runner
    }

    public func execute(
        _ request: UpstreamRequest,
        on endpoint: EndpointAddress,
        timeout: Duration,
        remaining: Duration
    ) async -> AttemptResult {
        guard case .grpc(let grpc) = request else {
            return .failed(.connectFailure, detail: "an HTTP request cannot be sent to a gRPC upstream")
        }
        guard let descriptor = MethodDescriptor(path: grpc.method) else {
            return .failed(.connectFailure, detail: "method must look like /package.Service/Method")
        }
        let client: Client
        do {
            client = try self.client(for: endpoint)
        } catch {
            return .failed(.connectFailure, detail: "cannot make a client for \(endpoint): \(error)")
        }

        var metadata = Metadata()
        for header in grpc.metadata
        where !header.name.hasPrefix(":") && !Self.reserved.contains(header.name.lowercased()) {
            if header.name.lowercased().hasSuffix("-bin") {
                metadata.addBinary(Array(header.value.utf8), forKey: header.name.lowercased())
            } else {
                metadata.addString(header.value, forKey: header.name.lowercased())
            }
        }
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = false

        do {
            return try await client.unary(
                request: ClientRequest(message: [UInt8](grpc.message), metadata: metadata),
                descriptor: descriptor,
                serializer: BytesSerializer(),
                deserializer: BytesDeserializer(),
                options: options
            ) { response in
                Self.attemptResult(for: response)
            }
        } catch is CancellationError {
            return .failed(.cancelledByCaller, detail: "the call was cancelled")
        } catch let error as RPCError {
            // Failures before any response (no connection, the deadline) are thrown rather than returned.
            return Self.attemptResult(for: ClientResponse(of: [UInt8].self, error: error))
        } catch {
            return .failed(.reset, detail: "gRPC call failed: \(error)")
        }
    }

    public func shutdown() async {
        let all = clients.withLock { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in all { client.beginGracefulShutdown() }
    }

    /// The client for `endpoint`, made on first use. A new client is handed to the runner (which runs
    /// its connections) after the lock is released.
    private func client(for endpoint: EndpointAddress) throws -> Client {
        let (client, isNew) = try clients.withLock { clients -> (Client, Bool) in
            if let client = clients[endpoint] { return (client, false) }
            let target: any ResolvableTarget =
                if endpoint.host.contains(":") {
                    .ipv6(address: endpoint.host, port: endpoint.port)
                } else if endpoint.host.split(separator: ".").count == 4
                    && endpoint.host.allSatisfy({ $0.isNumber || $0 == "." })
                {
                    .ipv4(address: endpoint.host, port: endpoint.port)
                } else {
                    .dns(host: endpoint.host, port: endpoint.port)
                }
            let client = Client(
                transport: try .http2NIOPosix(
                    target: target,
                    transportSecurity: .plaintext,
                    config: Self.transportConfig
                )
            )
            clients[endpoint] = client
            return (client, true)
        }
        if isNew { runner.run(client) }
        return client
    }

    /// The client transport's defaults, except that requests are flushed at once: coalescing (on by
    /// default) would hold each forwarded request for up to 100 µs.
    private static var transportConfig: HTTP2ClientTransport.Posix.Config {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.connection.flushCoalescing = nil
        return config
    }

    /// Headers gRPC itself owns; the app's values for them would be dropped or clash.
    private static let reserved: Set<String> = [
        "te", "content-type", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "user-agent",
        "grpc-status", "grpc-message",
    ]

    static func attemptResult(for response: ClientResponse<[UInt8]>) -> AttemptResult {
        switch response.accepted {
        case .success(let contents):
            var answer = Levee_V1_GrpcResponse()
            answer.metadata = Self.headers(contents.metadata) + Self.headers(contents.trailingMetadata)
            switch contents.message {
            case .success(let bytes):
                answer.code = 0
                answer.body = Data(bytes)
                return .answered(.grpc(answer), status: .grpc(0), pushback: nil)
            case .failure(let error):
                answer.code = UInt32(error.code.rawValue)
                answer.message = error.message
                return .answered(.grpc(answer), status: .grpc(error.code.rawValue), pushback: pushback(error.metadata))
            }
        case .failure(let error):
            // No initial metadata came: the RPC failed before the server accepted it. A client-side
            // "unavailable" with no server metadata means no connection could be made.
            if error.code == .unavailable && error.metadata.isEmpty {
                return .failed(.connectFailure, detail: "could not connect: \(error.message)")
            }
            if error.code == .deadlineExceeded && error.metadata.isEmpty {
                return .failed(.timeout, detail: "attempt timed out")
            }
            if error.code == .cancelled && error.metadata.isEmpty {
                return .failed(.cancelledByCaller, detail: "the call was cancelled")
            }
            var answer = Levee_V1_GrpcResponse()
            answer.code = UInt32(error.code.rawValue)
            answer.message = error.message
            answer.metadata = Self.headers(error.metadata)
            return .answered(.grpc(answer), status: .grpc(error.code.rawValue), pushback: pushback(error.metadata))
        }
    }

    private static func pushback(_ metadata: Metadata) -> ServerPushback? {
        for value in metadata[stringValues: "grpc-retry-pushback-ms"] {
            return ServerPushback(grpcRetryPushbackMilliseconds: value)
        }
        return nil
    }

    private static func headers(_ metadata: Metadata) -> [Levee_V1_Header] {
        metadata.map { key, value in
            var header = Levee_V1_Header()
            header.name = key
            switch value {
            case .string(let text): header.value = text
            case .binary(let bytes): header.value = String(decoding: bytes, as: UTF8.self)
            }
            return header
        }
    }
}

extension MethodDescriptor {
    /// Parses `/package.Service/Method`.
    init?(path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(fullyQualifiedService: String(parts[1]), method: String(parts[2]))
    }
}

/// Serializes a message that already is bytes.
struct BytesSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}

/// Deserializes a message into its bytes, leaving its meaning to the app.
struct BytesDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// Runs the connections of every outbound gRPC client the agent makes, as children of one task, so
/// that clients made on the fly still live inside the agent's structured lifetime.
public final class GRPCClientRunner: Sendable {
    private let stream: AsyncStream<GRPCClient<HTTP2ClientTransport.Posix>>
    private let continuation: AsyncStream<GRPCClient<HTTP2ClientTransport.Posix>>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream()
    }

    /// Hands `client` to the running loop; its connections run until it is shut down.
    func run(_ client: GRPCClient<HTTP2ClientTransport.Posix>) {
        continuation.yield(client)
    }

    /// Runs every client handed over until `finish()` is called; then shuts them all down and
    /// returns once they have stopped.
    public func runClients() async {
        await withDiscardingTaskGroup { group in
            var running: [GRPCClient<HTTP2ClientTransport.Posix>] = []
            for await client in stream {
                running.append(client)
                group.addTask { try? await client.runConnections() }
            }
            for client in running { client.beginGracefulShutdown() }
        }
    }

    /// No more clients will be handed over; `runClients` returns once the running ones stop.
    public func finish() {
        continuation.finish()
    }
}
