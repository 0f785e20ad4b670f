public import GRPCCore
public import LeveeAPI
import LeveeConfiguration
public import LeveeGossipNIO
import LeveePolicy

/// The application API on the app socket: `Call`, `Acquire`, `Release`, `Watch`, `Ping`.
///
/// Input is checked before anything is decided: a malformed request is `INVALID_ARGUMENT` naming the
/// field, an unknown upstream `NOT_FOUND` naming the known ones.
public struct GuardService: Levee_V1_Guard.SimpleServiceProtocol {
    let registry: UpstreamRegistry
    let clock: MonotonicClock
    /// How often `Watch` looks for changes.
    let watchInterval: Duration

    public init(registry: UpstreamRegistry, clock: MonotonicClock, watchInterval: Duration = .milliseconds(20)) {
        self.registry = registry
        self.clock = clock
        self.watchInterval = watchInterval
    }

    /// The margin kept before the Guard RPC's own deadline, so that the call answers TIMEOUT itself
    /// rather than being cancelled by the server.
    static let rpcDeadlineMargin = Duration.milliseconds(2)

    // `Call` takes the full request to read its `grpc-timeout`: the RPC's own deadline is one of those
    // the effective deadline is the earliest of (DESIGN.md "Deadlines").
    public func call(
        request: ServerRequest<Levee_V1_CallRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Levee_V1_CallResponse> {
        var rpcDeadline = Deadline.none
        if let header = request.metadata[stringValues: "grpc-timeout"].first(where: { _ in true }),
            let timeout = GRPCTimeout(headerValue: header)
        {
            rpcDeadline = Deadline.after(timeout.duration - Self.rpcDeadlineMargin, from: clock.now())
        }
        let response = try await call(request.message, rpcDeadline: rpcDeadline)
        return ServerResponse(message: response)
    }

    public func call(request: Levee_V1_CallRequest, context: ServerContext) async throws -> Levee_V1_CallResponse {
        try await call(request, rpcDeadline: .none)
    }

    private func call(_ request: Levee_V1_CallRequest, rpcDeadline: Deadline) async throws -> Levee_V1_CallResponse {
        let upstreamRequest = try Self.upstreamRequest(request)
        let options = GuardedCallOptions(
            timeout: request.timeoutMs > 0 ? .milliseconds(Int64(request.timeoutMs)) : nil,
            rpcDeadline: rpcDeadline,
            priority: try Self.priority(request.priority, field: "priority"),
            idempotencyKey: request.idempotencyKey,
            cacheKey: request.cacheKey
        )
        return try await registry.withRuntime(named: request.upstream, protocolKind: upstreamRequest.protocolKind) {
            await $0.call(upstreamRequest, options: options)
        }
    }

    public func acquire(
        request: Levee_V1_AcquireRequest,
        context: ServerContext
    ) async throws -> Levee_V1_AcquireResponse {
        let priority = try Self.priority(request.priority, field: "priority")
        return try await registry.withRuntime(named: request.upstream, protocolKind: nil) {
            await $0.acquire(request, priority: priority)
        }
    }

    public func release(
        request: Levee_V1_ReleaseRequest,
        context: ServerContext
    ) async throws -> Levee_V1_ReleaseResponse {
        guard !request.permitID.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "permit_id: required (the id Acquire returned)")
        }
        if case .UNRECOGNIZED(let value) = request.result {
            throw RPCError(code: .invalidArgument, message: "result: unknown AttemptResult \(value)")
        }
        guard let slash = request.permitID.lastIndex(of: "/"),
            let runtime = registry.existingRuntime(named: String(request.permitID[..<slash])),
            let response = runtime.release(request)
        else {
            throw RPCError(
                code: .notFound,
                message:
                    "permit_id: \(request.permitID) is unknown: never granted, released already, or its lease expired"
            )
        }
        return response
    }

    public func watch(
        request: Levee_V1_WatchRequest,
        response: RPCWriter<Levee_V1_WatchEvent>,
        context: ServerContext
    ) async throws {
        let wanted = Set(request.upstreams)
        for name in wanted where registry.existingRuntime(named: name) == nil {
            throw RPCError(code: .notFound, message: "upstreams: no upstream named \(name)")
        }
        func current() -> [String: Levee_V1_UpstreamState] {
            var states: [String: Levee_V1_UpstreamState] = [:]
            for runtime in registry.runtimes() where wanted.isEmpty || wanted.contains(runtime.name) {
                states[runtime.name] = runtime.watchState()
            }
            return states
        }
        var last = current()
        var lastLevel = registry.serviceLevel()
        var first = Levee_V1_WatchEvent()
        first.snapshot = true
        first.upstreams = last.keys.sorted().compactMap { last[$0] }
        first.level = Levee_V1_ServiceLevelState(lastLevel)
        try await response.write(first)
        while !Task.isCancelled {
            try await Task.sleep(for: watchInterval)
            let now = current()
            let level = registry.serviceLevel()
            var event = Levee_V1_WatchEvent()
            event.upstreams = now.keys.sorted().compactMap { name in now[name] == last[name] ? nil : now[name] }
            event.removed = last.keys.filter { now[$0] == nil }.sorted()
            if level != lastLevel { event.level = Levee_V1_ServiceLevelState(level) }
            if !event.upstreams.isEmpty || !event.removed.isEmpty || event.hasLevel {
                try await response.write(event)
            }
            last = now
            lastLevel = level
        }
    }

    public func ping(request: Levee_V1_PingRequest, context: ServerContext) async throws -> Levee_V1_PingResponse {
        Levee_V1_PingResponse()
    }

    // MARK: Input

    static func priority(_ priority: Levee_V1_Priority, field: String) throws(RPCError) -> Priority {
        switch priority {
        case .normal: .normal
        case .critical: .critical
        case .sheddable: .sheddable
        case .UNRECOGNIZED(let value):
            throw RPCError(code: .invalidArgument, message: "\(field): unknown Priority \(value)")
        }
    }

    /// HTTP method tokens (RFC 9110 §5.6.2 tchar).
    private static let tokenCharacters = Set(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    )

    static func upstreamRequest(_ request: Levee_V1_CallRequest) throws(RPCError) -> UpstreamRequest {
        guard !request.upstream.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "upstream: required (an upstream's name, or host:port)")
        }
        switch request.request {
        case .http(let http):
            guard http.method.allSatisfy({ tokenCharacters.contains($0) }) else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "http.method: \(http.method.debugDescription) is not an HTTP method"
                )
            }
            guard http.path.hasPrefix("/"), !http.path.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "http.path: \(http.path.debugDescription) must start with / and hold no whitespace"
                )
            }
            for header in http.headers {
                guard !header.name.isEmpty, header.name.allSatisfy({ tokenCharacters.contains($0) }) else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "http.headers: \(header.name.debugDescription) is not a header name"
                    )
                }
                guard !header.value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "http.headers: the value of \(header.name) holds CR, LF or NUL"
                    )
                }
            }
            return .http(http)
        case .grpc(let grpc):
            guard MethodDescriptor(path: grpc.method) != nil else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "grpc.method: \(grpc.method.debugDescription) must look like /package.Service/Method"
                )
            }
            return .grpc(grpc)
        case nil:
            throw RPCError(code: .invalidArgument, message: "request: set http or grpc")
        }
    }
}
