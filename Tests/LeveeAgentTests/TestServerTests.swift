import GRPCCore
import GRPCNIOTransportHTTP2
import LeveeTestKit
import Testing

/// The HTTP test upstream answers, fails, stalls, resets, dies and recovers as integration tests tell it,
/// seen through a real HTTP/1.1 client on loopback.
@Suite("TestHTTPServer on loopback", .timeLimit(.minutes(1)))
struct TestHTTPServerTests {
    @Test("answers the status, headers and body it is told, and records the request")
    func respond() async throws {
        try await withHTTPServer { server in
            server.behaviour = .respond(status: 500, headers: [("x-upstream", "payments")], body: "boom")
            let response = try await TestHTTPConnection.send(
                port: server.port,
                method: "PUT",
                uri: "/charge?id=7",
                headers: [("X-Request-Id", "r-1")],
                body: "{}"
            )
            #expect(response.status == 500)
            #expect(response.bodyString == "boom")
            #expect(response.header("X-Upstream") == "payments")
            #expect(response.header("content-length") == "4")
            #expect(server.requestCount == 1)
            let request = try #require(server.requests.last)
            #expect(request.method == "PUT")
            #expect(request.uri == "/charge?id=7")
            #expect(request.path == "/charge")
            #expect(request.header("x-request-id") == "r-1")
            #expect(request.bodyString == "{}")
        }
    }

    @Test("answers bytes as they are")
    func respondBytes() async throws {
        try await withHTTPServer { server in
            server.behaviour = .respondBytes(status: 200, body: [0, 255, 10])
            let response = try await TestHTTPConnection.send(port: server.port)
            #expect(response.body == [0, 255, 10])
        }
    }

    @Test("echo answers the body with the method and path")
    func echo() async throws {
        try await withHTTPServer { server in
            server.behaviour = .echo
            let response = try await TestHTTPConnection.send(
                port: server.port,
                method: "POST",
                uri: "/a/b?q",
                body: "hi"
            )
            #expect(response.status == 200)
            #expect(response.bodyString == "hi")
            #expect(response.header("x-echo-method") == "POST")
            #expect(response.header("x-echo-path") == "/a/b")
        }
    }

    @Test("keeps a connection alive across requests")
    func keepAlive() async throws {
        try await withHTTPServer { server in
            let statuses = try await TestHTTPConnection.with(port: server.port) { connection in
                [
                    try await connection.send(uri: "/1").status,
                    try await connection.send(uri: "/2").status,
                    try await connection.send(uri: "/3").status,
                ]
            }
            #expect(statuses == [200, 200, 200])
            #expect(server.requestCount == 3)
            #expect(server.acceptedConnections == 1)
            #expect(server.requests.map(\.uri) == ["/1", "/2", "/3"])
        }
    }

    @Test("a path's own behaviour wins over the default until cleared")
    func perPath() async throws {
        try await withHTTPServer { server throws in
            server.setBehaviour(.respond(status: 404), forPath: "/missing")
            #expect(try await TestHTTPConnection.send(port: server.port, uri: "/ok").status == 200)
            #expect(try await TestHTTPConnection.send(port: server.port, uri: "/missing?x=1").status == 404)
            server.setBehaviour(nil, forPath: "/missing")
            #expect(try await TestHTTPConnection.send(port: server.port, uri: "/missing").status == 200)
        }
    }

    @Test("a stall answers with its follow-up behaviour afterwards")
    func stallThenAnswer() async throws {
        try await withHTTPServer { server in
            server.behaviour = .stall(.milliseconds(100), then: .respond(status: 200, body: "late"))
            let response = try await TestHTTPConnection.send(port: server.port)
            #expect(response.bodyString == "late")
        }
    }

    @Test("a stall blocks neither the event loop nor other paths, and stop() cuts it short")
    func stallCutShortByStop() async throws {
        let server = try await TestHTTPServer.start()
        // If stop() did not end the stall, the client would get this 200 (after the test's time limit).
        server.setBehaviour(.stall(.seconds(120), then: .ok), forPath: "/slow")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await #expect(throws: TestHTTPClientError.connectionClosed) {
                    _ = try await TestHTTPConnection.send(port: server.port, uri: "/slow")
                }
            }
            #expect(try await eventually { server.requestCount == 1 })
            #expect(try await TestHTTPConnection.send(port: server.port, uri: "/ok").status == 200)
            try await server.stop()
            try await group.waitForAll()
        }
        #expect(server.openConnections == 0)
    }

    @Test("reset sends a TCP RST at the request head, with no answer")
    func reset() async throws {
        try await withHTTPServer { server in
            server.behaviour = .reset
            await #expect(throws: TestHTTPClientError.connectionReset) {
                _ = try await TestHTTPConnection.send(port: server.port, method: "POST", body: "payload")
            }
            #expect(server.requestCount == 1)
            #expect(server.requests.last?.method == "POST")
        }
    }

    @Test("close ends the connection cleanly at the request head, with no answer")
    func close() async throws {
        try await withHTTPServer { server in
            server.behaviour = .close
            await #expect(throws: TestHTTPClientError.connectionClosed) {
                _ = try await TestHTTPConnection.send(port: server.port)
            }
            #expect(server.requestCount == 1)
        }
    }

    @Test("a stall can end in a reset")
    func stallThenReset() async throws {
        try await withHTTPServer { server in
            server.behaviour = .stall(.milliseconds(50), then: .reset)
            await #expect(throws: TestHTTPClientError.connectionReset) {
                _ = try await TestHTTPConnection.send(port: server.port)
            }
        }
    }

    @Test("stop() closes the port and the open keep-alive connections")
    func stopRefusesAndCloses() async throws {
        let server = try await TestHTTPServer.start()
        let port = server.port
        try await TestHTTPConnection.with(port: port) { connection in
            #expect(try await connection.send().status == 200)
            try await server.stop()
            #expect(!server.isListening)
            // The server closed this connection: the next request sees a FIN (or, if the request went out
            // first, the RST the closed socket answers it with).
            let error = await #expect(throws: TestHTTPClientError.self) { _ = try await connection.send() }
            #expect(error == .connectionClosed || error == .connectionReset)
        }
        await #expect(throws: TestHTTPClientError.connectionRefused) {
            _ = try await TestHTTPConnection.send(port: port)
        }
        #expect(server.openConnections == 0)
        try await server.stop()  // a second stop does nothing
    }

    @Test("restart() answers again on the same port, keeping behaviours and counts")
    func restart() async throws {
        let server = try await TestHTTPServer.start()
        let port = server.port
        server.behaviour = .respond(status: 503)
        #expect(try await TestHTTPConnection.send(port: port).status == 503)
        try await server.stop()
        await #expect(throws: TestHTTPClientError.connectionRefused) {
            _ = try await TestHTTPConnection.send(port: port)
        }
        await #expect(throws: TestHTTPServer.Failure.notStopped) {
            try await server.restart()
            try await server.restart()
        }
        #expect(server.port == port)
        #expect(try await TestHTTPConnection.send(port: port).status == 503)
        #expect(server.requestCount == 2)
        try await server.stop()
    }

    @Test("resetCounters() forgets requests and keeps behaviours")
    func resetCounters() async throws {
        try await withHTTPServer { server in
            server.behaviour = .respond(status: 201)
            _ = try await TestHTTPConnection.send(port: server.port)
            server.resetCounters()
            #expect(server.requestCount == 0)
            #expect(server.requests.isEmpty)
            #expect(server.acceptedConnections == 0)
            #expect(try await TestHTTPConnection.send(port: server.port).status == 201)
            #expect(server.requestCount == 1)
        }
    }
}

/// The gRPC test upstream echoes, fails and stalls as tests tell it, and records the deadline each call
/// propagated, seen through a grpc-swift-2 client on loopback.
@Suite("TestGRPCServer on loopback", .timeLimit(.minutes(1)))
struct TestGRPCServerTests {
    static let echo = MethodDescriptor(fullyQualifiedService: "test.Echo", method: "Echo")

    @Test("echo answers the bytes with x-echo-method, and records the call with all its metadata")
    func echo() async throws {
        try await TestGRPCServer.withServer { server in
            let answer = try await call(port: server.port, [1, 2, 3], metadata: ["x-request-id": "r-9"])
            #expect(try answer.message.get() == [1, 2, 3])
            #expect(answer.metadata[stringValues: "x-echo-method"].first { _ in true } == "test.Echo/Echo")
            #expect(server.requestCount == 1)
            let request = try #require(server.requests.last)
            #expect(request.method == "test.Echo/Echo")
            #expect(request.message == [1, 2, 3])
            #expect(request.metadataValue("x-request-id") == "r-9")
            // The handler sees every request header, the HTTP/2 pseudo-headers included.
            #expect(request.metadataValue(":path") == "/test.Echo/Echo")
            #expect(request.metadataValue("content-type")?.hasPrefix("application/grpc") == true)
            // No deadline, no grpc-timeout.
            #expect(request.timeout == nil)
            #expect(server.lastTimeout == nil)
        }
    }

    @Test("fail ends the call with the status, message and trailing metadata")
    func fail() async throws {
        try await TestGRPCServer.withServer { server in
            server.behaviour = .fail(code: .unavailable, message: "down", metadata: ["grpc-retry-pushback-ms": "250"])
            let answer = try await call(port: server.port, [7])
            let error = try #require(answer.message.failure)
            #expect(error.code == .unavailable)
            #expect(error.message == "down")
            #expect(error.metadata[stringValues: "grpc-retry-pushback-ms"].first { _ in true } == "250")
            #expect(server.requestCount == 1)
        }
    }

    @Test("a stall answers with its follow-up behaviour afterwards")
    func stallThenAnswer() async throws {
        try await TestGRPCServer.withServer { server throws in
            server.behaviour = .stall(.milliseconds(100), then: .respond([42]))
            #expect(try await call(port: server.port, [1]).message.get() == [42])
        }
    }

    @Test("the client's deadline reaches the handler as grpc-timeout, and cuts the stall short")
    func deadline() async throws {
        try await TestGRPCServer.withServer { server in
            server.behaviour = .stall(.seconds(120), then: .echo)
            // A deadline long enough for the request to arrive on a loaded machine, short beside the stall.
            let answer = try await call(port: server.port, [1], timeout: .seconds(5))
            #expect(answer.message.failure?.code == .deadlineExceeded)
            let timeout = try #require(server.lastTimeout)
            #expect(timeout > .zero && timeout <= .seconds(5))
            #expect(server.requests.last?.metadataValue("grpc-timeout") != nil)
            // withServer returns only once the handler ended: a stall that ignored the deadline would
            // hold the graceful shutdown past the test's time limit.
        }
    }

    @Test("the recorded timeout is what the client had left, at most its own timeout")
    func recordedTimeout() async throws {
        try await TestGRPCServer.withServer { server in
            _ = try await call(port: server.port, [1], timeout: .seconds(7))
            let timeout = try #require(server.lastTimeout)
            #expect(timeout > .zero && timeout <= .seconds(7))
        }
    }

    @Test("graceful shutdown cuts a stall short")
    func stallCutShortByShutdown() async throws {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await TestGRPCServer.withServer { server throws in
                    server.behaviour = .stall(.seconds(120), then: .echo)
                    portContinuation.yield(server.port)
                    #expect(try await eventually { server.requestCount == 1 })
                }  // returning begins the graceful shutdown while the call stalls
            }
            group.addTask {
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                let answer = try await call(port: port, [1])
                #expect(answer.message.failure?.code == .cancelled)
            }
            try await group.waitForAll()
        }
    }

    @Test("serves several methods, each with its own behaviour; others are unimplemented")
    func methods() async throws {
        try await TestGRPCServer.withServer(methods: ["/pay.Payments/Charge", "pay.Payments/Refund"]) { server throws in
            server.setBehaviour(.fail(code: .notFound), forMethod: "pay.Payments/Refund")
            let charge = MethodDescriptor(fullyQualifiedService: "pay.Payments", method: "Charge")
            let refund = MethodDescriptor(fullyQualifiedService: "pay.Payments", method: "Refund")
            #expect(try await call(port: server.port, [1], method: charge).message.get() == [1])
            #expect(try await call(port: server.port, [1], method: refund).message.failure?.code == .notFound)
            #expect(try await call(port: server.port, [1]).message.failure?.code == .unimplemented)
            #expect(server.requests.map(\.method) == ["pay.Payments/Charge", "pay.Payments/Refund"])
        }
    }

    @Test("a method that is not service/method is refused at start")
    func invalidMethod() async throws {
        await #expect(throws: TestGRPCServer.Failure.invalidMethod("Echo")) {
            try await TestGRPCServer.withServer(methods: ["Echo"]) { _ in }
        }
    }

    @Test("a new server on the same port answers after the old one is gone")
    func samePortAgain() async throws {
        let port = try await TestGRPCServer.withServer { server in
            _ = try await call(port: server.port, [1])
            return server.port
        }
        try await TestGRPCServer.withServer(port: port) { server throws in
            #expect(server.port == port)
            #expect(try await call(port: port, [2]).message.get() == [2])
        }
    }
}

/// What a unary call over bytes came back with.
private struct Answer: Sendable {
    var message: Result<[UInt8], RPCError>
    var metadata: Metadata
}

/// One unary call on a fresh client; an RPC error, from the server or the client's own deadline, is
/// returned in the answer, not thrown.
private func call(
    port: Int,
    _ message: [UInt8],
    method: MethodDescriptor = TestGRPCServerTests.echo,
    metadata: Metadata = [:],
    timeout: Duration? = nil
) async throws -> Answer {
    let transport = try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: port),
        transportSecurity: .plaintext
    )
    var options = CallOptions.defaults
    options.timeout = timeout
    do {
        return try await withGRPCClient(transport: transport) { client in
            try await client.unary(
                request: ClientRequest(message: message, metadata: metadata),
                descriptor: method,
                serializer: ByteArraySerializer(),
                deserializer: ByteArrayDeserializer(),
                options: options
            ) { response in
                Answer(message: response.accepted.flatMap(\.message), metadata: response.metadata)
            }
        }
    } catch let error as RPCError {
        // A deadline the client enforces itself ends the call with a thrown error, not a response.
        return Answer(message: .failure(error), metadata: [:])
    }
}

/// Runs `body` with a fresh server and stops it afterwards, however `body` ends.
private func withHTTPServer(_ body: (TestHTTPServer) async throws -> Void) async throws {
    let server = try await TestHTTPServer.start()
    do {
        try await body(server)
    } catch {
        try? await server.stop()
        throw error
    }
    try await server.stop()
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
