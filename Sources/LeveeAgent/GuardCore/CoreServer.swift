import CGRPCCore
import Glibc
import LeveeConfiguration
import Synchronization

/// A gRPC server on gRPC's C core (libgrpc): HTTP/2, framing, flow control, deadlines, compression
/// and the message size limit are the core's; reading each request within `listen.read_timeout`,
/// counting the limits' hits, and what each method does are Swift's.
///
/// One thread drives the server's one completion queue. When a call to a registered method arrives,
/// the thread starts reading its request message; once the message is whole, it calls the method's
/// handler with the call and the message's bytes, and the handler answers at once or hands the call
/// to another thread. A request not whole within the read timeout is answered `DEADLINE_EXCEEDED`.
/// Calls to any other method are answered `UNIMPLEMENTED`.
///
/// The server does not listen: its owner accepts connections and hands each one over
/// (``addConnection(_:)``), so that who may connect, and how many, stays the owner's decision.
final class CoreServer: @unchecked Sendable {
    /// What a registered method does with a call whose request has arrived; runs on the queue's thread.
    typealias Handler = @Sendable (_ call: CoreCall, _ request: [UInt8]) -> Void

    private let server: OpaquePointer
    private let queue: OpaquePointer
    private let credentials: OpaquePointer
    private let methods: [(path: String, handle: UnsafeMutableRawPointer?, handler: Handler)]
    let limits: ListenerLimitState
    private var queueThread: CoreThread?
    /// Resumed when the core says every call has ended after ``shutdown(drain:)``.
    private let drained = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let shuttingDown = Atomic<Bool>(false)
    /// The read deadlines of the calls whose request is being read, oldest first: all have the same
    /// read timeout, so their deadlines come in the order they arrived. Each names its call by serial
    /// number in ``reading``; a call leaves ``reading`` (and is no longer held) as soon as its request
    /// has arrived. Both are the queue's thread's own.
    private var readDeadlines: [(deadline: gpr_timespec, serial: UInt64)] = []
    private var readDeadlinesStart = 0
    private var reading: [UInt64: CoreCall] = [:]
    private var nextSerial: UInt64 = 0
    /// The connections handed to the core, by descriptor: their calls in flight, and since when none.
    private let connections = Mutex<[Int32: ConnectionState]>([:])

    private struct ConnectionState {
        var calls = 0
        var idleSince = ContinuousClock.now
    }

    /// How many calls of each method the server asks the core for ahead of their arrival; each one
    /// that arrives is asked for again at once. Calls beyond these wait in the core's queue.
    static let callsRequestedAhead = 8

    /// Creates the server with the listener's limits as the core's channel arguments, and `methods`
    /// registered.
    init(limits: ListenerLimitState, methods: [(path: String, handler: Handler)]) {
        grpc_init()
        self.limits = limits
        queue = grpc_completion_queue_create_for_next(nil)
        server = Self.withChannelArguments(Self.channelArguments(limits.limits)) { grpc_server_create($0, nil) }
        grpc_server_register_completion_queue(server, queue, nil)
        credentials = grpc_insecure_server_credentials_create()
        let server = server
        self.methods = methods.map { method in
            let handle = grpc_server_register_method(server, method.path, nil, GRPC_SRM_PAYLOAD_NONE, 0)
            return (method.path, handle, method.handler)
        }
    }

    deinit {
        grpc_server_credentials_release(credentials)
        grpc_server_destroy(server)
        grpc_completion_queue_destroy(queue)
        grpc_shutdown()
    }

    /// The core's settings for `limits` (`listen.*`): message and metadata sizes, streams per
    /// connection, the idle timeout.
    static func channelArguments(_ limits: ListenerLimits) -> [(String, Int32)] {
        [
            ("grpc.max_receive_message_length", Int32(clamping: limits.maxMessageSize)),
            ("grpc.max_send_message_length", -1),
            ("grpc.max_concurrent_streams", Int32(clamping: limits.maxStreamsPerConnection)),
            ("grpc.max_metadata_size", Int32(clamping: limits.maxHeaderSize)),
            ("grpc.max_connection_idle_ms", Int32(clamping: limits.idleTimeout.wholeMilliseconds)),
            ("grpc.enable_channelz", 0),
        ]
    }

    private static func withChannelArguments<Result>(
        _ arguments: [(String, Int32)],
        _ body: (UnsafePointer<grpc_channel_args>) -> Result
    ) -> Result {
        let keys = arguments.map { strdup($0.0)! }
        defer { keys.forEach { free($0) } }
        var args = zip(keys, arguments).map { key, argument in
            var arg = grpc_arg()
            arg.type = GRPC_ARG_INTEGER
            arg.key = key
            arg.value.integer = argument.1
            return arg
        }
        return args.withUnsafeMutableBufferPointer { buffer in
            var channelArgs = grpc_channel_args(num_args: buffer.count, args: buffer.baseAddress)
            return body(&channelArgs)
        }
    }

    /// Starts the server and its queue's thread.
    func start() {
        grpc_server_start(server)
        for index in methods.indices {
            for _ in 0..<Self.callsRequestedAhead { CallRequest(server: self, method: index).request() }
        }
        for _ in 0..<2 { CallRequest(server: self, method: nil).request() }
        queueThread = CoreThread { [self] in drive() }
    }

    // MARK: Connections

    /// Serves a connection a client made: the core owns `descriptor` from now on, and closes it.
    func addConnection(_ descriptor: Int32) {
        connections.withLock { $0[descriptor] = ConnectionState() }
        grpc_server_add_channel_from_fd(server, descriptor, credentials)
    }

    /// The connection the core was handed as `descriptor` has closed: counted as closed by
    /// `listen.idle_timeout` when it had had no call for that long.
    func connectionClosed(_ descriptor: Int32) {
        guard let state = connections.withLock({ $0.removeValue(forKey: descriptor) }) else { return }
        if state.calls == 0, ContinuousClock.now - state.idleSince >= limits.limits.idleTimeout {
            limits.hit(.idleTimeout)
        }
    }

    /// The descriptor of the connection `call` came on (the core names it `fd:N`).
    private static func connection(of call: OpaquePointer) -> Int32? {
        guard let peer = grpc_call_get_peer(call) else { return nil }
        defer { gpr_free(peer) }
        guard peer[0] == 0x66, peer[1] == 0x64, peer[2] == 0x3A else { return nil }  // "fd:"
        return Int32(String(cString: peer + 3))
    }

    private func callStarted(on connection: Int32) {
        let calls = connections.withLock { connections -> Int in
            connections[connection]?.calls += 1
            return connections[connection]?.calls ?? 0
        }
        if calls == limits.limits.maxStreamsPerConnection { limits.hit(.maxStreamsPerConnection) }
    }

    func callEnded(on connection: Int32) {
        connections.withLock { connections in
            guard var state = connections[connection] else { return }
            state.calls -= 1
            if state.calls == 0 { state.idleSince = .now }
            connections[connection] = state
        }
    }

    // MARK: Shutdown

    /// Stops taking calls, lets those in flight finish for up to `drain`, then cancels the rest, and
    /// stops the queue's thread. Call it once, after ``start()``.
    func shutdown(drain: Duration) async {
        shuttingDown.store(true, ordering: .releasing)
        let notice = ShutdownNotice(server: self)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                await withCheckedContinuation { continuation in
                    drained.withLock { $0 = continuation }
                    grpc_server_shutdown_and_notify(server, queue, notice.retainedTag())
                }
            }
            group.addTask { [self] in
                try? await Task.sleep(for: drain)
                grpc_server_cancel_all_calls(server)
            }
            await group.next()
            group.cancelAll()
        }
        grpc_completion_queue_shutdown(queue)
        queueThread?.join()
    }

    fileprivate func didDrain() {
        drained.withLock { $0.take() }?.resume()
    }

    // MARK: The queue's thread

    /// Completes each tag the core hands back, and times out the requests read too slowly, until the
    /// queue is shut down. With no request being read, it waits with no timeout.
    private func drive() {
        while true {
            let wait =
                readDeadlinesStart < readDeadlines.count
                ? readDeadlines[readDeadlinesStart].deadline : gpr_inf_future(GPR_CLOCK_MONOTONIC)
            let event = grpc_completion_queue_next(queue, wait, nil)
            switch event.type {
            case GRPC_QUEUE_SHUTDOWN:
                return
            case GRPC_OP_COMPLETE:
                CoreCompletion.take(event.tag).complete(success: event.success != 0)
            default:
                break
            }
            if readDeadlinesStart < readDeadlines.count { expireReads() }
        }
    }

    /// Answers `DEADLINE_EXCEEDED` to each call whose request has not arrived within the read timeout,
    /// and forgets the deadlines of requests that have arrived, from the oldest on.
    private func expireReads() {
        let now = gpr_now(GPR_CLOCK_MONOTONIC)
        while readDeadlinesStart < readDeadlines.count {
            let (deadline, serial) = readDeadlines[readDeadlinesStart]
            if let call = reading[serial] {
                guard gpr_time_cmp(deadline, now) <= 0 else { break }
                reading[serial] = nil
                limits.hit(.readTimeout)
                grpc_call_cancel_with_status(
                    call.call,
                    GRPC_STATUS_DEADLINE_EXCEEDED,
                    "the request did not arrive whole within listen.read_timeout (\(limits.limits.readTimeout))",
                    nil
                )
            }
            readDeadlinesStart += 1
        }
        if readDeadlinesStart == readDeadlines.count {
            readDeadlines.removeAll(keepingCapacity: true)
            readDeadlinesStart = 0
        } else if readDeadlinesStart > 1024, readDeadlinesStart * 2 > readDeadlines.count {
            readDeadlines.removeFirst(readDeadlinesStart)
            readDeadlinesStart = 0
        }
    }

    /// A call has arrived (on the queue's thread): its request is read, or it is refused.
    fileprivate func arrived(_ call: CoreCall, method: Int?) {
        if let connection = call.connection { callStarted(on: connection) }
        guard let method else {
            call.answer(.failed(GRPC_STATUS_UNIMPLEMENTED, "Method not found: \(call.method)"))
            return
        }
        nextSerial += 1
        let serial = nextSerial
        reading[serial] = call
        let timeout = gpr_time_from_nanos(limits.limits.readTimeout.wholeNanoseconds, GPR_TIMESPAN)
        readDeadlines.append((gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), timeout), serial))
        call.readMessage { [self] message in
            // Gone: answered DEADLINE_EXCEEDED already.
            guard reading.removeValue(forKey: serial) != nil else { return }
            switch message {
            case .message(let bytes):
                methods[method].handler(call, bytes)
            case .none:
                call.answer(.failed(GRPC_STATUS_INVALID_ARGUMENT, "request: the RPC ended without a request message"))
            case .failed:
                // The core refused the message (over max_receive_message_length) and has answered the
                // call RESOURCE_EXHAUSTED. (A cancelled call reads as no message.)
                limits.hit(.maxMessageSize)
            }
        }
    }

    /// One call asked of the core ahead of its arrival: for a registered method (`method`), or for any
    /// other (nil). Another is asked for as soon as it has been given, until the server shuts down.
    private final class CallRequest: CoreCompletion, @unchecked Sendable {
        let server: CoreServer
        let method: Int?
        private let call = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: 1)
        private let deadline = UnsafeMutablePointer<gpr_timespec>.allocate(capacity: 1)
        private let metadata = UnsafeMutablePointer<grpc_metadata_array>.allocate(capacity: 1)
        private let details = UnsafeMutablePointer<grpc_call_details>.allocate(capacity: 1)

        init(server: CoreServer, method: Int?) {
            self.server = server
            self.method = method
            call.initialize(to: nil)
            deadline.initialize(to: gpr_timespec())
            grpc_metadata_array_init(metadata)
            grpc_call_details_init(details)
        }

        deinit {
            grpc_metadata_array_destroy(metadata)
            grpc_call_details_destroy(details)
            call.deallocate()
            deadline.deallocate()
            metadata.deallocate()
            details.deallocate()
        }

        func request() {
            let tag = retainedTag()
            let status: grpc_call_error
            if let method {
                status = grpc_server_request_registered_call(
                    server.server,
                    server.methods[method].handle,
                    call,
                    deadline,
                    metadata,
                    nil,
                    server.queue,
                    server.queue,
                    tag
                )
            } else {
                status = grpc_server_request_call(
                    server.server,
                    call,
                    details,
                    metadata,
                    server.queue,
                    server.queue,
                    tag
                )
            }
            if status != GRPC_CALL_OK { CoreCompletion.abandon(tag) }
        }

        override func complete(success: Bool) {
            guard success, let handle = call.pointee else { return }
            let path = method.map { server.methods[$0].path } ?? CoreBytes.string(details.pointee.method)
            let arrived = CoreCall(
                call: handle,
                method: path,
                deadline: method == nil ? details.pointee.deadline : deadline.pointee,
                connection: CoreServer.connection(of: handle),
                server: server
            )
            if !server.shuttingDown.load(ordering: .acquiring) {
                CallRequest(server: server, method: method).request()
            }
            server.arrived(arrived, method: method)
        }
    }

    /// The core's word that the server has shut down and every call has ended.
    private final class ShutdownNotice: CoreCompletion, @unchecked Sendable {
        let server: CoreServer
        init(server: CoreServer) { self.server = server }
        override func complete(success: Bool) { server.didDrain() }
    }
}

extension Duration {
    fileprivate var wholeMilliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }

    fileprivate var wholeNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
