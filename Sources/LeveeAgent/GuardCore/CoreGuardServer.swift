import CGRPCCore
import GRPCCore
import LeveeAPI
import LeveePolicy
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization

/// The Guard API on gRPC's C core (`listen.guard_server: core`): the same service, contract and
/// socket as the grpc-swift server, at a fraction of its cost per RPC.
///
/// `Ping` and `Release` are answered on the completion queue's thread the moment they arrive: they
/// never wait. `Call`, `Acquire` and `Watch` run as child tasks of ``run()`` on the handler executor
/// (the event loops, where the upstream leg runs); a client that cancels one, or lets its deadline
/// pass, cancels its task.
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

    func run() async throws {
        let jobs = AsyncStream<CoreJob>.makeStream()
        let streams = OpenStreams()
        let server = CoreServer(limits: limits, methods: methods(jobs: jobs.continuation, streams: streams))
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
                // Off the event loops: stopping the acceptor waits for its thread.
                group.addTask(executorPreference: globalConcurrentExecutor) {
                    // Cancelled rather than shut down: the same steps, the drain cut short.
                    try? await gracefulShutdown()
                    socket.removeFile()
                    acceptor.stop()
                    streams.endAll()
                    await server.shutdown(drain: Task.isCancelled ? .zero : drainTimeout)
                    jobs.continuation.finish()
                }
                for await job in jobs.stream {
                    group.addTask { await job.run() }
                }
            }
        }
    }

    private typealias Method = (path: String, handler: CoreServer.Handler)

    private func methods(jobs: AsyncStream<CoreJob>.Continuation, streams: OpenStreams) -> [Method] {
        let service = service
        return [
            unary("/levee.v1.Guard/Call", jobs: jobs) { (request: Levee_V1_CallRequest, call: CoreCall) in
                try await service.call(request, rpcDeadline: service.rpcDeadline(timeLeft: call.timeLeft))
            },
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

/// Lets the completion queue's thread cancel the task that runs a call, when the client cancels it.
final class CallCancellation: Sendable {
    /// `UnsafeCurrentTask` is not `Sendable`: it may only be used while its task runs, which the lock
    /// in ``CallCancellation`` guarantees (the task takes itself out before it returns).
    private struct RunningTask: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    private enum State {
        case waiting
        case running(RunningTask)
        case cancelled
        case finished
    }

    private let state = Mutex<State>(.waiting)

    /// Runs `body` in the current task; a ``cancel()`` before or during it cancels the task.
    func run<Result>(_ body: () async throws -> Result) async throws -> Result {
        withUnsafeCurrentTask { task in
            guard let task else { return }
            state.withLock { state in
                switch state {
                case .waiting: state = .running(RunningTask(task: task))
                case .cancelled: task.cancel()
                case .running, .finished: break
                }
            }
        }
        defer { state.withLock { $0 = .finished } }
        return try await body()
    }

    func cancel() {
        state.withLock { state in
            switch state {
            case .running(let running):
                running.task.cancel()
                state = .cancelled
            case .waiting:
                state = .cancelled
            case .cancelled, .finished:
                break
            }
        }
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
