public import GRPCCore
public import LeveeAPI
public import LeveeClock
import LeveeConfiguration
import LeveePolicy

/// The application API on the app socket: `Call`, `Acquire`, `Release`, `Watch`, `Ping`.
///
/// Input is checked before anything is decided: a malformed request is `INVALID_ARGUMENT` naming the
/// field, an unknown upstream `NOT_FOUND` naming the known ones.
public struct GuardService: Levee_V1_Guard.SimpleServiceProtocol {
    let registry: UpstreamRegistry
    let clock: any InstantClock
    /// The least time between two `Watch` events: changes that come faster are sent together.
    let watchInterval: Duration

    public init(registry: UpstreamRegistry, clock: any InstantClock, watchInterval: Duration = .milliseconds(20)) {
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
        let response = try await Self.cancelledWithRPC {
            try await call(request.message, rpcDeadline: rpcDeadline(of: request.metadata))
        }
        return ServerResponse(message: response)
    }

    /// Runs `body`, cancelling its task when grpc-swift cancels the RPC (the client cancelled it, or
    /// its deadline passed): grpc-swift-2 signals that through the server context's handle, not by
    /// cancelling the handler's task, and only a cancelled task gives back what it holds (a bulkhead
    /// slot, a queue place) before its upstream answers.
    private static func cancelledWithRPC<Result>(_ body: () async throws -> Result) async throws -> Result {
        let cancellation = CallCancellation()
        return try await withRPCCancellationHandler {
            try await cancellation.run(body)
        } onCancelRPC: {
            cancellation.cancel()
        }
    }

    /// The deadline of the Guard RPC itself (`grpc-timeout`), less a margin.
    private func rpcDeadline(of metadata: Metadata) -> Deadline {
        guard let header = metadata[stringValues: "grpc-timeout"].first(where: { _ in true }),
            let timeout = GRPCTimeout(headerValue: header)
        else { return .none }
        return rpcDeadline(timeLeft: timeout.duration)
    }

    /// The deadline of a Guard RPC given `timeLeft` (nil: none), less a margin.
    func rpcDeadline(timeLeft: Duration?) -> Deadline {
        guard let timeLeft else { return .none }
        return Deadline.after(timeLeft - Self.rpcDeadlineMargin, from: clock.now())
    }

    public func call(request: Levee_V1_CallRequest, context: ServerContext) async throws -> Levee_V1_CallResponse {
        try await call(request, rpcDeadline: .none)
    }

    func call(_ request: Levee_V1_CallRequest, rpcDeadline: Deadline) async throws -> Levee_V1_CallResponse {
        let call = try prepare(request, rpcDeadline: rpcDeadline)
        defer { registry.checkIn(call.runtime) }
        return Levee_V1_CallResponse(await call.runtime.call(call.request, options: call.options))
    }

    /// What a `Call` runs: its upstream's runtime, checked out of the registry (the caller checks it
    /// in when the call has ended), the request and its options. Throws the RPC's error for a
    /// malformed request or an unknown upstream.
    func prepare(
        _ request: Levee_V1_CallRequest,
        rpcDeadline: Deadline
    ) throws(RPCError) -> (runtime: UpstreamRuntime, request: UpstreamRequest, options: GuardedCallOptions) {
        let upstreamRequest = try Self.upstreamRequest(request)
        let options = GuardedCallOptions(
            timeout: request.timeoutMs > 0 ? .milliseconds(Int64(request.timeoutMs)) : nil,
            rpcDeadline: rpcDeadline,
            priority: try Self.priority(request.priority, field: "priority"),
            idempotencyKey: request.idempotencyKey,
            cacheKey: request.cacheKey
        )
        do {
            let runtime = try registry.checkOut(named: request.upstream, protocolKind: upstreamRequest.protocolKind)
            return (runtime, upstreamRequest, options)
        } catch {
            throw RPCError(error)
        }
    }

    // `Acquire` takes the full request to read its `grpc-timeout`, as `Call` does.
    public func acquire(
        request: ServerRequest<Levee_V1_AcquireRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Levee_V1_AcquireResponse> {
        let response = try await Self.cancelledWithRPC {
            try await acquire(request.message, rpcDeadline: rpcDeadline(of: request.metadata))
        }
        return ServerResponse(message: response)
    }

    public func acquire(
        request: Levee_V1_AcquireRequest,
        context: ServerContext
    ) async throws -> Levee_V1_AcquireResponse {
        try await acquire(request, rpcDeadline: .none)
    }

    func acquire(
        _ request: Levee_V1_AcquireRequest,
        rpcDeadline: Deadline
    ) async throws -> Levee_V1_AcquireResponse {
        let permit = PermitRequest(
            priority: try Self.priority(request.priority, field: "priority"),
            timeout: request.timeoutMs > 0 ? .milliseconds(Int64(request.timeoutMs)) : nil,
            frontDeadline: rpcDeadline,
            retry: Int(request.attempt),
            lease: request.leaseMs > 0 ? .milliseconds(Int64(request.leaseMs)) : nil
        )
        do {
            let decision = try await registry.withRuntime(named: request.upstream, protocolKind: nil) {
                await $0.acquire(permit)
            }
            return Levee_V1_AcquireResponse(decision)
        } catch {
            throw RPCError(error)
        }
    }

    public func release(
        request: Levee_V1_ReleaseRequest,
        context: ServerContext
    ) async throws -> Levee_V1_ReleaseResponse {
        try release(request)
    }

    func release(_ request: Levee_V1_ReleaseRequest) throws(RPCError) -> Levee_V1_ReleaseResponse {
        guard !request.permitID.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "permit_id: required (the id Acquire returned)")
        }
        guard let result = PermitResult(request.result) else {
            throw RPCError(code: .invalidArgument, message: "result: unknown AttemptResult \(request.result.rawValue)")
        }
        let duration: Duration? = request.durationUs > 0 ? .microseconds(Int64(clamping: request.durationUs)) : nil
        // The runtime that granted the permit: the one in force, or one a reload has retired since.
        // (Each is asked at most once: a release is not idempotent.)
        var breaker: CircuitBreaker.State?
        if let slash = request.permitID.lastIndex(of: "/") {
            for runtime in registry.permitHolders(named: String(request.permitID[..<slash])) {
                breaker = runtime.release(permit: request.permitID, result: result, duration: duration)
                if breaker != nil { break }
            }
        }
        guard let breaker else {
            throw RPCError(
                code: .notFound,
                message:
                    "permit_id: \(request.permitID) is unknown: never granted, released already, or its lease expired"
            )
        }
        var response = Levee_V1_ReleaseResponse()
        response.breaker = Levee_V1_BreakerState(breaker)
        return response
    }

    public func watch(
        request: Levee_V1_WatchRequest,
        response: RPCWriter<Levee_V1_WatchEvent>,
        context: ServerContext
    ) async throws {
        try await watch(request) { try await response.write($0) }
    }

    /// Writes the upstreams' states with `write`, then each change, until the task is cancelled.
    func watch(
        _ request: Levee_V1_WatchRequest,
        write: (Levee_V1_WatchEvent) async throws -> Void
    ) async throws {
        let wanted = Set(request.upstreams)
        for name in wanted where registry.existingRuntime(named: name) == nil {
            throw RPCError(code: .notFound, message: "upstreams: no upstream named \(name)")
        }
        func current() -> [String: UpstreamWatchState] {
            var states: [String: UpstreamWatchState] = [:]
            for runtime in registry.runtimes() where wanted.isEmpty || wanted.contains(runtime.name) {
                states[runtime.name] = runtime.watchState()
            }
            return states
        }
        // Event-driven: the registry's change signal wakes the watcher; nothing runs while nothing
        // changes. After each event the watcher rests `watchInterval`, so that a burst of changes (every
        // call moves in_flight) becomes one event.
        var version = registry.changes.version
        var last = current()
        var lastLevel = registry.serviceLevel()
        var first = Levee_V1_WatchEvent()
        first.snapshot = true
        first.upstreams = last.keys.sorted().compactMap { last[$0].map(Levee_V1_UpstreamState.init) }
        first.level = Levee_V1_ServiceLevelState(lastLevel)
        try await write(first)
        while !Task.isCancelled {
            version = await registry.changes.wait(after: version)
            if Task.isCancelled { break }
            let now = current()
            let level = registry.serviceLevel()
            var event = Levee_V1_WatchEvent()
            event.upstreams = now.keys.sorted().compactMap { name in
                now[name] == last[name] ? nil : now[name].map(Levee_V1_UpstreamState.init)
            }
            event.removed = last.keys.filter { now[$0] == nil }.sorted()
            if level != lastLevel { event.level = Levee_V1_ServiceLevelState(level) }
            if !event.upstreams.isEmpty || !event.removed.isEmpty || event.hasLevel {
                try await write(event)
                try await clock.sleep(until: clock.now() + watchInterval)
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
            return .http(HTTPUpstreamRequest(http))
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
