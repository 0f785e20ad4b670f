// The `guard` fuzz target: bytes → `Levee_V1_CallRequest` (swift-protobuf) → the Guard service's
// input checks (`GuardService.upstreamRequest`, `priority`) → the call's options, its stale-fallback
// key and idempotency → the upstream the name makes (a dynamic one for host:port) → the HTTP/1.1
// request the HTTP executor would send, encoded by the executor's own NIO client pipeline. Nothing
// past the mapping runs: no runtime, no socket. Compiled by scripts/fuzz-all into the LeveeAgent
// module (instrumented).

import Foundation
import GRPCCore
import LeveeAPI
import LeveeConfiguration
import LeveePolicy
import SwiftProtobuf

/// One `Guard.Call` request as the app sent it, checked and mapped as the Guard service does.
enum GuardRequestFuzz {
    /// The agent's configuration without a file: dynamic upstreams on, default policies.
    private static let configuration = AgentConfiguration.builtIn(environment: [:], uid: 1000)

    static func run(_ input: UnsafeRawBufferPointer) {
        guard let request = try? Levee_V1_CallRequest(serializedBytes: Array(input)) else { return }
        let upstreamRequest: UpstreamRequest
        let priority: Priority
        do {
            upstreamRequest = try GuardService.upstreamRequest(request)
            priority = try GuardService.priority(request.priority, field: "priority")
        } catch {
            _ = error.description  // the message the app reads
            return
        }
        let timeout: Duration? = request.timeoutMs > 0 ? .milliseconds(Int64(request.timeoutMs)) : nil
        let options = GuardedCallOptions(
            timeout: timeout,
            priority: priority,
            idempotencyKey: request.idempotencyKey,
            cacheKey: request.cacheKey
        )
        _ = upstreamRequest.cacheKey(explicit: options.cacheKey)
        _ = upstreamRequest.idempotency
        let upstream = configuration.dynamicUpstream(
            named: request.upstream,
            protocolKind: upstreamRequest.protocolKind
        )
        guard case .http(let http) = upstreamRequest else { return }
        let endpoint = upstream?.endpoints.first ?? EndpointAddress(host: "127.0.0.1", port: 80)
        sendAsHTTP1Executor(http, to: endpoint, remaining: timeout ?? .seconds(30))
    }

    /// The corpus's first inputs: an HTTP GET and POST with headers, a gRPC call, a dynamic upstream.
    static var seeds: [[UInt8]] {
        var get = Levee_V1_CallRequest()
        get.upstream = "payments"
        get.http.method = "GET"
        get.http.path = "/charges?limit=10"
        get.http.headers = [header("accept", "application/json"), header("connection", "x-trace, close")]
        get.timeoutMs = 250
        get.priority = .critical

        var post = Levee_V1_CallRequest()
        post.upstream = "127.0.0.1:8080"
        post.http.method = "POST"
        post.http.path = "/orders"
        post.http.headers = [header("content-type", "application/json"), header("host", "orders.internal")]
        post.http.body = Data("{\"sku\":42}".utf8)
        post.idempotencyKey = "order-7"
        post.cacheKey = "orders"

        var grpc = Levee_V1_CallRequest()
        grpc.upstream = "[::1]:50051"
        grpc.grpc.method = "/levee.v1.Guard/Ping"
        grpc.grpc.message = Data([0x0a, 0x01, 0x41])
        grpc.grpc.metadata = [header("x-request-id", "1"), header("trace-bin", "AAEC")]
        grpc.priority = .sheddable

        return [get, post, grpc].compactMap { try? $0.serializedBytes() }
    }

    private static func header(_ name: String, _ value: String) -> Levee_V1_Header {
        var header = Levee_V1_Header()
        header.name = name
        header.value = value
        return header
    }
}
