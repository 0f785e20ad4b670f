import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.1 client on one TCP connection, for tests that must see exactly what a server does
/// to a connection: an answer, a clean close, a reset, a refused connect. Requests go one at a time and
/// reuse the connection (keep-alive).
///
/// ```swift
/// let response = try await TestHTTPConnection.send(port: payments.port, method: "POST", uri: "/pay", body: "{}")
/// try await TestHTTPConnection.with(port: payments.port) { connection in
///     _ = try await connection.send(uri: "/a")
///     _ = try await connection.send(uri: "/b")  // same connection
/// }
/// ```
///
/// Not `Sendable`: use a connection only inside the `with` body that made it.
public final class TestHTTPConnection {
    private let host: String
    private let port: Int
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>

    private init(
        host: String,
        port: Int,
        inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    ) {
        self.host = host
        self.port = port
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    /// Connects to `host:port` (an IP address, no name resolution), runs `body` with the connection and
    /// closes it afterwards, however `body` ends.
    ///
    /// - Throws: ``TestHTTPClientError/connectionRefused`` when nothing listens there.
    public static func with<Result: Sendable>(
        host: String = "127.0.0.1",
        port: Int,
        _ body: (TestHTTPConnection) async throws -> Result
    ) async throws -> Result {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(to: try SocketAddress(ipAddress: host, port: port)) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel
                        )
                    }
                }
        } catch {
            throw TestHTTPClientError(error) ?? error
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(TestHTTPConnection(host: host, port: port, inbound: inbound, outbound: outbound))
        }
    }

    /// Sends one request on a new connection and returns the answer.
    public static func send(
        host: String = "127.0.0.1",
        port: Int,
        method: String = "GET",
        uri: String = "/",
        headers: [(String, String)] = [],
        body: String = ""
    ) async throws -> TestHTTPResponse {
        try await with(host: host, port: port) { connection in
            try await connection.send(method: method, uri: uri, headers: headers, body: body)
        }
    }

    /// Sends a request with a UTF-8 body and waits for the whole answer.
    ///
    /// - Throws: ``TestHTTPClientError/connectionClosed`` or ``TestHTTPClientError/connectionReset``
    ///   when the server drops the connection before the answer is complete.
    public func send(
        method: String = "GET",
        uri: String = "/",
        headers: [(String, String)] = [],
        body: String = ""
    ) async throws -> TestHTTPResponse {
        try await send(method: method, uri: uri, headers: headers, bytes: Array(body.utf8))
    }

    /// Sends a request with a binary body and waits for the whole answer.
    public func send(
        method: String = "GET",
        uri: String = "/",
        headers: [(String, String)] = [],
        bytes body: [UInt8]
    ) async throws -> TestHTTPResponse {
        var fields = HTTPHeaders(headers)
        if !fields.contains(name: "host") { fields.add(name: "host", value: "\(host):\(port)") }
        if !fields.contains(name: "content-length") && (!body.isEmpty || method == "POST" || method == "PUT") {
            fields.add(name: "content-length", value: String(body.count))
        }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: uri, headers: fields)
        var parts: [HTTPClientRequestPart] = [.head(head)]
        if !body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        parts.append(.end(nil))
        do {
            // One flush for the whole request, so a server that drops the connection at the head
            // finds the request already sent.
            try await outbound.write(contentsOf: parts)
        } catch {
            // The write failed because the connection went away: what the read side saw (a reset or
            // a clean close) says how, where the write only knows the channel is closed.
            do {
                _ = try await readResponse()
            } catch {
                throw TestHTTPClientError(error) ?? error
            }
            throw TestHTTPClientError(error) ?? error
        }
        do {
            return try await readResponse()
        } catch {
            throw TestHTTPClientError(error) ?? error
        }
    }

    private func readResponse() async throws -> TestHTTPResponse {
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        while let part = try await inbound.next() {
            switch part {
            case .head(let received):
                head = received
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let head else { throw TestHTTPClientError.connectionClosed }
                return TestHTTPResponse(
                    status: Int(head.status.code),
                    headers: head.headers.map { ($0.name, $0.value) },
                    body: body
                )
            }
        }
        throw TestHTTPClientError.connectionClosed
    }
}

/// An answer that a ``TestHTTPConnection`` read.
public struct TestHTTPResponse: Sendable {
    public var status: Int
    /// The header fields in the order they arrived. Use ``header(_:)`` to look one up.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body decoded as UTF-8 (invalid bytes repaired).
    public var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// The first value of the header field `name`, compared case-insensitively; nil when absent.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.0.lowercased() == lowered }?.1
    }
}

/// How a ``TestHTTPConnection`` saw a server fail it, reduced to what a test asserts on.
public enum TestHTTPClientError: Error, Equatable, Sendable {
    /// Nothing listens on the port (ECONNREFUSED).
    case connectionRefused
    /// The server closed the connection (FIN) before the answer was complete.
    case connectionClosed
    /// The server reset the connection (RST, ECONNRESET) before the answer was complete.
    case connectionReset

    /// The case for a NIO error, nil for an error that is none of these.
    init?(_ error: any Error) {
        if let error = error as? TestHTTPClientError {
            self = error
        } else if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: self = .connectionRefused
            case ECONNRESET: self = .connectionReset
            case EPIPE: self = .connectionClosed
            default: return nil
            }
        } else if let error = error as? ChannelError {
            switch error {
            case .ioOnClosedChannel, .eof, .outputClosed, .alreadyClosed: self = .connectionClosed
            default: return nil
            }
        } else {
            return nil
        }
    }
}
