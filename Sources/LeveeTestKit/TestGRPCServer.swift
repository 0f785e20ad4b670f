public import GRPCCore
import GRPCNIOTransportHTTP2
import LeveePolicy
import Synchronization

/// A real gRPC upstream (grpc-swift-2, HTTP/2 over TCP on loopback, plaintext) whose unary methods echo,
/// fail and stall on command, and which records every call with the deadline its client propagated.
///
/// It serves any list of unary methods with messages as opaque bytes (``ByteArraySerializer``), so a
/// test needs no generated code. It also serves the standard health service,
/// `grpc.health.v1.Health/Check`, answering ``TestGRPCHealthStatus/serving`` for the whole server
/// (service `""`) until told otherwise (``setHealthStatus(_:forService:)``); health checks are counted
/// in ``healthCheckCount``, not in ``requests``:
///
/// ```swift
/// try await TestGRPCServer.withServer(methods: ["payments.Payments/Charge"]) { payments in
///     payments.behaviour = .fail(code: .unavailable, message: "down")
///     // … drive the agent against payments.address …
///     #expect(payments.lastTimeout != nil)
/// }
/// ```
public final class TestGRPCServer: Sendable {
    /// How many received calls ``requests`` keeps (the newest); ``requestCount`` counts them all.
    public static let requestLogLimit = 1000

    /// The address the server binds.
    public let host: String
    /// The unary methods served; others are answered `unimplemented` by grpc-swift.
    public let methods: [MethodDescriptor]
    private let state: Mutex<State>

    private struct State {
        var port = 0
        var behaviour: TestGRPCBehaviour = .echo
        var methodBehaviours: [String: TestGRPCBehaviour] = [:]
        var requests: [TestGRPCRequest] = []
        var requestCount = 0
        var healthStatuses: [String: TestGRPCHealthStatus] = ["": .serving]
        var healthCheckCount = 0
    }

    /// Why ``withServer(host:port:methods:_:)`` could not start.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// A method is not `<service>/<method>` (a leading `/` is allowed).
        case invalidMethod(String)

        public var description: String {
            switch self {
            case .invalidMethod(let method):
                "'\(method)' is not a gRPC method: expected '<package.Service>/<Method>', e.g. 'test.Echo/Echo'"
            }
        }
    }

    private init(host: String, methods: [MethodDescriptor]) {
        self.host = host
        self.methods = methods
        self.state = Mutex(State())
    }

    /// Serves `methods` on `host:port` (port 0 picks a free one) for the duration of `body`, then shuts
    /// down gracefully, which also ends any stall in progress. When `body` throws, the server is stopped
    /// at once and the error rethrown.
    ///
    /// - Parameters:
    ///   - methods: Unary methods as `<package.Service>/<Method>`; a leading `/` (the HTTP/2 `:path`
    ///     form) is accepted.
    /// - Throws: ``Failure/invalidMethod(_:)``, the transport's bind error, or what `body` throws.
    public static func withServer<Result: Sendable>(
        host: String = "127.0.0.1",
        port: Int = 0,
        methods: [String] = ["test.Echo/Echo"],
        _ body: (TestGRPCServer) async throws -> Result
    ) async throws -> Result {
        let server = TestGRPCServer(host: host, methods: try methods.map(Self.descriptor(parsing:)))
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port),
            transportSecurity: .plaintext
        )
        let grpcServer = GRPCServer(transport: transport, services: [TestGRPCService(server: server)])
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await grpcServer.serve() }
            do {
                let address: GRPCNIOTransportCore.SocketAddress
                do {
                    address = try await transport.listeningAddress
                } catch {
                    // A failed bind surfaces here only as "server is stopped"; serve() has the cause.
                    try await group.waitForAll()
                    throw error
                }
                server.state.withLock { $0.port = address.ipv4?.port ?? port }
                let result = try await body(server)
                grpcServer.beginGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                grpcServer.beginGracefulShutdown()
                group.cancelAll()
                throw error
            }
        }
    }

    /// The bound port.
    public var port: Int { state.withLock { $0.port } }

    /// `host:port`, e.g. `127.0.0.1:40123`.
    public var address: String { "\(host):\(port)" }

    /// What the server does with a call to a method that has no behaviour of its own (see
    /// ``setBehaviour(_:forMethod:)``). Read when a call arrives.
    public var behaviour: TestGRPCBehaviour {
        get { state.withLock { $0.behaviour } }
        set { state.withLock { $0.behaviour = newValue } }
    }

    /// Makes calls to `method` (`<package.Service>/<Method>`) behave as `behaviour`; nil returns that
    /// method to ``behaviour``.
    public func setBehaviour(_ behaviour: TestGRPCBehaviour?, forMethod method: String) {
        let key = method.hasPrefix("/") ? String(method.dropFirst()) : method
        state.withLock { $0.methodBehaviours[key] = behaviour }
    }

    /// How many calls arrived since the server started or ``resetCounters()``, including failed and
    /// stalling ones. A call counts as soon as its handler runs, so a test can poll this to know that a
    /// stall has begun.
    public var requestCount: Int { state.withLock { $0.requestCount } }

    /// The last ``requestLogLimit`` calls, oldest first.
    public var requests: [TestGRPCRequest] { state.withLock { $0.requests } }

    /// The deadline that the latest call propagated (its `grpc-timeout`), nil when it had none or no
    /// call arrived yet.
    public var lastTimeout: Duration? { state.withLock { $0.requests.last?.timeout } }

    /// Forgets the recorded calls and zeroes the counts; behaviours and health statuses stay.
    public func resetCounters() {
        state.withLock {
            $0.requests.removeAll()
            $0.requestCount = 0
            $0.healthCheckCount = 0
        }
    }

    /// Makes the health service answer `status` for `service` (`""`: the server as a whole); nil makes
    /// the service unknown, which the health service answers with `NOT_FOUND` (gRPC
    /// `doc/health-checking.md`).
    public func setHealthStatus(_ status: TestGRPCHealthStatus?, forService service: String = "") {
        state.withLock { $0.healthStatuses[service] = status }
    }

    /// How many `grpc.health.v1.Health/Check` calls arrived since start or ``resetCounters()``.
    public var healthCheckCount: Int { state.withLock { $0.healthCheckCount } }

    /// The method of the standard health service.
    static let healthCheckMethod = MethodDescriptor(fullyQualifiedService: "grpc.health.v1.Health", method: "Check")

    /// Answers a health check with the status set for the requested service.
    fileprivate func checkHealth(_ request: ServerRequest<[UInt8]>) -> ServerResponse<[UInt8]> {
        guard let service = TestGRPCHealthStatus.service(inRequest: request.message) else {
            return ServerResponse(error: RPCError(code: .invalidArgument, message: "not a HealthCheckRequest"))
        }
        let status = state.withLock { state in
            state.healthCheckCount += 1
            return state.healthStatuses[service]
        }
        guard let status else {
            return ServerResponse(error: RPCError(code: .notFound, message: "unknown service \(service)"))
        }
        return ServerResponse(message: status.responseMessage)
    }

    /// Records the call, then carries out the behaviour for its method.
    fileprivate func handle(
        _ request: ServerRequest<[UInt8]>,
        context: ServerContext
    ) async throws -> ServerResponse<[UInt8]> {
        let method = context.descriptor.fullyQualifiedMethod
        // The transport hands every request header to the handler as metadata, grpc-timeout included;
        // the server's own deadline is enforced through `context.cancellation`, which carries no value.
        let timeout = request.metadata[stringValues: "grpc-timeout"]
            .first { _ in true }
            .flatMap { GRPCTimeout(headerValue: $0)?.duration }
        let recorded = TestGRPCRequest(
            method: method,
            metadata: request.metadata,
            message: request.message,
            timeout: timeout,
            receivedAt: .now
        )
        let behaviour = state.withLock { state in
            state.requestCount += 1
            state.requests.append(recorded)
            if state.requests.count > Self.requestLogLimit {
                state.requests.removeFirst(state.requests.count - Self.requestLogLimit)
            }
            return state.methodBehaviours[method] ?? state.behaviour
        }
        return try await perform(behaviour, request: recorded, cancellation: context.cancellation)
    }

    private func perform(
        _ behaviour: TestGRPCBehaviour,
        request: TestGRPCRequest,
        cancellation: ServerContext.RPCCancellationHandle
    ) async throws -> ServerResponse<[UInt8]> {
        switch behaviour {
        case .echo:
            return ServerResponse(message: request.message, metadata: ["x-echo-method": .string(request.method)])
        case .respond(let message):
            return ServerResponse(message: message)
        case .fail(let code, let message, let metadata):
            return ServerResponse(error: RPCError(code: code, message: message, metadata: metadata))
        case .stall(let duration, let then):
            guard await Self.sleep(for: duration, unlessCancelled: cancellation) else {
                return ServerResponse(error: RPCError(code: .cancelled, message: "stall cut short"))
            }
            return try await perform(then, request: request, cancellation: cancellation)
        }
    }

    /// Sleeps `duration`; true when it did, false when gRPC cancelled the call first. gRPC cancels a
    /// call through its handle, not by cancelling the handler's task, so the sleep races the handle.
    private static func sleep(
        for duration: Duration,
        unlessCancelled cancellation: ServerContext.RPCCancellationHandle
    ) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Task.sleep(for: duration)) != nil }
            group.addTask {
                try? await cancellation.cancelled
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private static func descriptor(parsing method: String) throws -> MethodDescriptor {
        let path = method.hasPrefix("/") ? method.dropFirst() : Substring(method)
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex, path.index(after: slash) != path.endIndex
        else { throw Failure.invalidMethod(method) }
        return MethodDescriptor(
            fullyQualifiedService: String(path[..<slash]),
            method: String(path[path.index(after: slash)...])
        )
    }
}

/// Registers each of the server's methods as a unary handler over bytes.
private struct TestGRPCService: RegistrableRPCService {
    let server: TestGRPCServer

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        for method in server.methods {
            router.registerHandler(
                forMethod: method,
                deserializer: ByteArrayDeserializer(),
                serializer: ByteArraySerializer()
            ) { [server] request, context in
                let single = try await ServerRequest(stream: request)
                return StreamingServerResponse(single: try await server.handle(single, context: context))
            }
        }
        guard !server.methods.contains(TestGRPCServer.healthCheckMethod) else { return }
        router.registerHandler(
            forMethod: TestGRPCServer.healthCheckMethod,
            deserializer: ByteArrayDeserializer(),
            serializer: ByteArraySerializer()
        ) { [server] request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: server.checkHealth(single))
        }
    }
}
