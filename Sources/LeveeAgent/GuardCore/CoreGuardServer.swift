import CGRPCCore
import GRPCCore
import LeveeAPI
import LeveePolicy
import Logging
import NIOCore
import ServiceLifecycle
import SwiftProtobuf
import Synchronization

/// The Guard API on gRPC's C core (`listen.guard_server: core`): the same service, contract and
/// socket as the grpc-swift server, at a fraction of its cost per RPC.
///
/// `Ping` and `Release` are answered on the completion queue's thread the moment they arrive: they
/// never wait. A `Call` is a ``LoopCall`` on one of the event loops in turn, where its upstream leg
/// runs: without a task while it needs only attempts, else in that loop's runner. `Acquire` and
/// `Watch` run as child tasks of ``run()`` on the handler executor (the event loops). A client that
/// cancels a call, or lets its deadline pass, cancels its attempt or its task.
///
/// On graceful shutdown the socket file goes, no connection is accepted any more, `Watch` streams
/// end, and the unary calls in flight finish (up to the drain timeout) before the core closes the
/// connections.
struct CoreGuardServer: Service {
    let service: GuardService
    let socket: UnixListeningSocket
    let gate: PeerCredentialGate
    let limits: ListenerLimitState
    let logger: Logger
    let drainTimeout: Duration
    let handlerExecutor: (any TaskExecutor)?
    /// The loops the `Call`s run on.
    let group: any EventLoopGroup

    func run() async throws {
        let jobs = AsyncStream<CoreJob>.makeStream()
        let streams = OpenStreams()
        let runners = LoopCallRunners(group: group)
        let server = CoreServer(
            limits: limits,
            methods: methods(jobs: jobs.continuation, streams: streams, runners: runners)
        )
        let acceptor: CoreAcceptor
        do {
            acceptor = try CoreAcceptor(
                listener: socket.descriptor,
                server: server,
                limits: limits,
                gate: gate,
                logger: logger
            )
        } catch {
            socket.abandon()
            throw error
        }
        server.start()
        acceptor.start()
        defer { socket.removeFile() }
        // The calls are taken from the stream where they then run, on the handler executor (the event
        // loops): the loop woken for a call runs it, where a hop through the cooperative pool would
        // wake a second thread for each one.
        await withTaskExecutorPreference(handlerExecutor) {
            await withDiscardingTaskGroup { group in
                for runner in runners.all {
                    group.addTask { await runner.run() }
                }
                // Off the event loops: stopping the acceptor waits for its thread.
                group.addTask(executorPreference: globalConcurrentExecutor) {
                    // Cancelled rather than shut down: the same steps, the drain cut short.
                    try? await gracefulShutdown()
                    socket.removeFile()
                    acceptor.stop()
                    streams.endAll()
                    await server.shutdown(drain: Task.isCancelled ? .zero : drainTimeout)
                    jobs.continuation.finish()
                    for runner in runners.all { runner.finish() }
                }
                for await job in jobs.stream {
                    group.addTask { await job.run() }
                }
            }
        }
    }

    private typealias Method = (path: String, handler: CoreServer.Handler)

    private func methods(
        jobs: AsyncStream<CoreJob>.Continuation,
        streams: OpenStreams,
        runners: LoopCallRunners
    ) -> [Method] {
        let service = service
        return [
            (
                "/levee.v1.Guard/Call",
                { call, bytes in Self.startCall(call, bytes, service: service, runners: runners) }
            ),
            unary("/levee.v1.Guard/Acquire", jobs: jobs) { (request: Levee_V1_AcquireRequest, call: CoreCall) in
                try await service.acquire(request, rpcDeadline: service.rpcDeadline(timeLeft: call.timeLeft))
            },
            immediate("/levee.v1.Guard/Release") { (request: Levee_V1_ReleaseRequest) in
                try service.release(request)
            },
            immediate("/levee.v1.Guard/Ping") { (_: Levee_V1_PingRequest) in
                Levee_V1_PingResponse()
            },
            (
                "/levee.v1.Guard/Watch",
                { call, bytes in
                    guard let request: Levee_V1_WatchRequest = Self.decode(bytes, answering: call) else { return }
                    let cancellation = CallCancellation()
                    call.notifyWhenClosed { cancelled in if cancelled { cancellation.cancel() } }
                    jobs.yield(
                        CoreJob {
                            guard streams.open(cancellation) else {
                                call.answer(.failed(GRPC_STATUS_UNAVAILABLE, "the agent is shutting down"))
                                return
                            }
                            defer { streams.close(cancellation) }
                            let answer: CoreAnswer
                            do {
                                try await cancellation.run {
                                    try await service.watch(request) { event in
                                        let bytes: [UInt8] = try event.serializedBytes()
                                        let sent = await withCheckedContinuation { sent in
                                            call.send(bytes) { sent.resume(returning: $0) }
                                        }
                                        if !sent { throw CancellationError() }
                                    }
                                }
                                answer = .ok(nil)
                            } catch {
                                answer = Self.answer(for: error)
                            }
                            call.answer(answer)
                        }
                    )
                }
            ),
        ]
    }

    /// Starts a `Call` on the next loop: admitted here, driven there, answered from there.
    private static func startCall(_ call: CoreCall, _ bytes: [UInt8], service: GuardService, runners: LoopCallRunners) {
        guard let request: Levee_V1_CallRequest = decode(bytes, answering: call) else { return }
        let prepared: (runtime: UpstreamRuntime, request: UpstreamRequest, options: GuardedCallOptions)
        do {
            prepared = try service.prepare(request, rpcDeadline: service.rpcDeadline(timeLeft: call.timeLeft))
        } catch {
            call.answer(answer(for: error))
            return
        }
        let runtime = prepared.runtime
        let registry = service.registry
        let loopCall = LoopCall(
            runtime: runtime,
            progress: runtime.begin(prepared.request, options: prepared.options),
            runner: runners.next()
        ) { result in
            registry.checkIn(runtime)
            guard let result else {
                call.answer(.failed(GRPC_STATUS_UNAVAILABLE, "the agent is shutting down"))
                return
            }
            do {
                call.answer(.ok(try Levee_V1_CallResponse(result).serializedBytes()))
            } catch {
                call.answer(answer(for: error))
            }
        }
        let loop = loopCall.loop
        call.notifyWhenClosed { cancelled in
            if cancelled { loop.execute { loopCall.cancel() } }
        }
        loop.execute { loopCall.step() }
    }

    /// A unary method whose handler may wait: run as a child task of ``run()``, cancelled when the
    /// client cancels the call.
    private func unary<Request: Message, Response: Message>(
        _ path: String,
        jobs: AsyncStream<CoreJob>.Continuation,
        _ body: @escaping @Sendable (Request, CoreCall) async throws -> Response
    ) -> Method {
        (
            path,
            { call, bytes in
                guard let request: Request = Self.decode(bytes, answering: call) else { return }
                let cancellation = CallCancellation()
                call.notifyWhenClosed { cancelled in if cancelled { cancellation.cancel() } }
                let result = jobs.yield(
                    CoreJob {
                        let answer: CoreAnswer
                        do {
                            let response = try await cancellation.run { try await body(request, call) }
                            answer = .ok(try response.serializedBytes())
                        } catch {
                            answer = Self.answer(for: error)
                        }
                        call.answer(answer)
                    }
                )
                if case .terminated = result {
                    call.answer(.failed(GRPC_STATUS_UNAVAILABLE, "the agent is shutting down"))
                }
            }
        )
    }

    /// A unary method whose handler never waits: answered on the completion queue's thread.
    private func immediate<Request: Message, Response: Message>(
        _ path: String,
        _ body: @escaping @Sendable (Request) throws -> Response
    ) -> Method {
        (
            path,
            { call, bytes in
                guard let request: Request = Self.decode(bytes, answering: call) else { return }
                do {
                    call.answer(.ok(try body(request).serializedBytes()))
                } catch {
                    call.answer(Self.answer(for: error))
                }
            }
        )
    }

    /// The request, or nil when its bytes are not one (the call is then answered `INVALID_ARGUMENT`).
    private static func decode<Request: Message>(_ bytes: [UInt8], answering call: CoreCall) -> Request? {
        do {
            return try Request(serializedBytes: bytes)
        } catch {
            call.answer(
                .failed(GRPC_STATUS_INVALID_ARGUMENT, "request: not a valid \(Request.protoMessageName): \(error)")
            )
            return nil
        }
    }

    /// The status an error thrown by a handler ends its call with.
    static func answer(for error: any Error) -> CoreAnswer {
        switch error {
        case let error as RPCError:
            return .failed(grpc_status_code(rawValue: Int32(error.code.rawValue)), error.message)
        case let error as any RPCErrorConvertible:
            return .failed(grpc_status_code(rawValue: Int32(error.rpcErrorCode.rawValue)), error.rpcErrorMessage)
        case is CancellationError:
            return .failed(GRPC_STATUS_CANCELLED, "the call was cancelled")
        default:
            return .failed(GRPC_STATUS_UNKNOWN, "the agent failed the call: \(error)")
        }
    }
}

/// A call handed from the completion queue's thread to ``CoreGuardServer/run()``'s task group.
struct CoreJob: Sendable {
    let run: @Sendable () async -> Void

    init(_ run: @escaping @Sendable () async -> Void) {
        self.run = run
    }
}

/// The `Watch` streams open, ended together when the server shuts down.
final class OpenStreams: Sendable {
    private let state = Mutex<(streams: [ObjectIdentifier: CallCancellation], ended: Bool)>(([:], false))

    /// Counts `stream` as open; false when the server is shutting down (the stream must not start).
    func open(_ stream: CallCancellation) -> Bool {
        state.withLock { state in
            guard !state.ended else { return false }
            state.streams[ObjectIdentifier(stream)] = stream
            return true
        }
    }

    func close(_ stream: CallCancellation) {
        _ = state.withLock { $0.streams.removeValue(forKey: ObjectIdentifier(stream)) }
    }

    /// Ends every open stream, and every stream opened from now on.
    func endAll() {
        let streams = state.withLock { state in
            state.ended = true
            return Array(state.streams.values)
        }
        for stream in streams { stream.cancel() }
    }
}
