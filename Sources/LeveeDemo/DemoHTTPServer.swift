import NIOCore
import NIOHTTP1
import NIOPosix

/// A request as the demo's servers see it.
struct DemoRequest: Sendable {
    var method: HTTPMethod
    /// The path without its query.
    var path: String
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// An answer of the demo's servers.
struct DemoResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders = [:]
    var body: String = ""

    static func json(_ body: String, status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:]) -> DemoResponse {
        var headers = headers
        headers.replaceOrAdd(name: "content-type", value: "application/json")
        return DemoResponse(status: status, headers: headers, body: body)
    }

    static func text(_ status: HTTPResponseStatus, _ body: String) -> DemoResponse {
        DemoResponse(status: status, headers: ["content-type": "text/plain; charset=utf-8"], body: body + "\n")
    }
}

/// The small HTTP/1.1 server under Payments, Inventory and Orders: keep-alive connections, each served
/// by its own child task, one request at a time.
enum DemoHTTPServer {
    typealias Handler = @Sendable (DemoRequest) async -> DemoResponse

    /// Listens on `127.0.0.1:port` and serves until the task is cancelled (or the process ends).
    static func serve(port: Int, handler: @escaping Handler) async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        try await withThrowingDiscardingTaskGroup { group in
            try await listener.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await serve(connection, handler: handler) }
                }
            }
        }
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        handler: Handler
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let requestHead = head else { continue }
                    let path = String(requestHead.uri.prefix { $0 != "?" })
                    let response = await handler(
                        DemoRequest(method: requestHead.method, path: path, headers: requestHead.headers, body: body)
                    )
                    var headers = response.headers
                    let bytes = ByteBuffer(string: response.body)
                    headers.replaceOrAdd(name: "content-length", value: String(bytes.readableBytes))
                    if !requestHead.isKeepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
                    try await outbound.write(
                        .head(HTTPResponseHead(version: requestHead.version, status: response.status, headers: headers))
                    )
                    try await outbound.write(.body(.byteBuffer(bytes)))
                    try await outbound.write(.end(nil))
                    if !requestHead.isKeepAlive { return }
                    head = nil
                }
            }
        }
    }
}
