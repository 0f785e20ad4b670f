import CGRPCCore
import Synchronization

/// One RPC the core's server received: its deadline, and the operations that answer it. The core is
/// thread-safe: a call may be answered from any thread, one batch of each kind at a time.
final class CoreCall: @unchecked Sendable {
    /// The core's call; released when the last batch holding this object has completed.
    let call: OpaquePointer
    /// The method's path, `/levee.v1.Guard/Call`.
    let method: String
    /// How long the client gave the RPC when it arrived (its `grpc-timeout`); nil for no deadline.
    let timeLeft: Duration?
    /// The descriptor of the connection it came on, when the core says.
    let connection: Int32?
    private let server: CoreServer
    /// Set once the initial metadata has gone out (with the first message or the status).
    private var initialMetadataSent = false
    /// Whether a ``notifyWhenClosed(_:)`` batch holds the call's one close operation.
    private var closeRequested = false

    init(call: OpaquePointer, method: String, deadline: gpr_timespec, connection: Int32?, server: CoreServer) {
        self.call = call
        self.method = method
        self.connection = connection
        self.server = server
        timeLeft = Self.timeLeft(until: deadline)
    }

    deinit {
        if let connection { server.callEnded(on: connection) }
        grpc_call_unref(call)
    }

    /// What reading the request gave.
    enum Request {
        case message([UInt8])
        /// The client ended its side with no message (or a message cut short), or cancelled the call.
        case none
        /// The core refused the message: it is over `grpc.max_receive_message_length`, and the core has
        /// answered the call `RESOURCE_EXHAUSTED`.
        case failed
    }

    /// Reads the request message; `read` runs on the queue's thread.
    func readMessage(_ read: @escaping @Sendable (Request) -> Void) {
        let batch = CoreBatch(call: self, done: nil)
        batch.onRead = read
        withUnsafeTemporaryAllocation(of: grpc_op.self, capacity: 1) { ops in
            ops[0] = grpc_op()
            ops[0].op = GRPC_OP_RECV_MESSAGE
            ops[0].data.recv_message.recv_message = batch.received
            batch.start(ops.baseAddress!, count: 1)
        }
    }

    private static func timeLeft(until deadline: gpr_timespec) -> Duration? {
        let left = levee_nanoseconds_until(deadline)
        return left == .max ? nil : .nanoseconds(left)
    }

    /// Calls `closed` (on the queue's thread) when the RPC is over: `true` when the client cancelled
    /// it or its deadline passed before the status went out. Call it before ``answer(_:)``, at most
    /// once.
    func notifyWhenClosed(_ closed: @escaping @Sendable (_ cancelled: Bool) -> Void) {
        closeRequested = true
        let batch = CoreBatch(call: self) { _, cancelled in closed(cancelled) }
        withUnsafeTemporaryAllocation(of: grpc_op.self, capacity: 1) { ops in
            ops[0] = grpc_op()
            ops[0].op = GRPC_OP_RECV_CLOSE_ON_SERVER
            ops[0].data.recv_close_on_server.cancelled = batch.cancelled
            batch.start(ops.baseAddress!, count: 1)
        }
    }

    /// Sends one message of a server stream; `sent` says (on the queue's thread) whether it went out.
    func send(_ message: [UInt8], sent: @escaping @Sendable (Bool) -> Void) {
        let batch = CoreBatch(call: self) { success, _ in sent(success) }
        batch.message = CoreBytes.buffer(message)
        withUnsafeTemporaryAllocation(of: grpc_op.self, capacity: 2) { ops in
            var count = 0
            appendSends(to: ops, count: &count, message: batch.message)
            batch.start(ops.baseAddress!, count: count)
        }
    }

    /// Appends to `ops` the initial metadata, unless it has gone out already, and `message`, if any.
    private func appendSends(
        to ops: UnsafeMutableBufferPointer<grpc_op>,
        count: inout Int,
        message: UnsafeMutablePointer<grpc_byte_buffer>?
    ) {
        if !initialMetadataSent {
            initialMetadataSent = true
            ops[count] = grpc_op()
            ops[count].op = GRPC_OP_SEND_INITIAL_METADATA
            count += 1
        }
        if let message {
            ops[count] = grpc_op()
            ops[count].op = GRPC_OP_SEND_MESSAGE
            ops[count].data.send_message.send_message = message
            count += 1
        }
    }

    /// Ends the RPC: the message (a unary answer), if any, then the status, in one batch.
    func answer(_ answer: CoreAnswer) {
        let batch = CoreBatch(call: self, done: nil)
        withUnsafeTemporaryAllocation(of: grpc_op.self, capacity: 4) { ops in
            var count = 0
            batch.message = answer.message.map(CoreBytes.buffer)
            appendSends(to: ops, count: &count, message: batch.message)
            ops[count] = grpc_op()
            ops[count].op = GRPC_OP_SEND_STATUS_FROM_SERVER
            ops[count].data.send_status_from_server.status = answer.status
            if let text = answer.statusMessage {
                let details = UnsafeMutablePointer<grpc_slice>.allocate(capacity: 1)
                details.initialize(to: grpc_slice_from_copied_string(text))
                batch.statusDetails = details
                ops[count].data.send_status_from_server.status_details = details
            }
            count += 1
            if !closeRequested {
                closeRequested = true
                ops[count] = grpc_op()
                ops[count].op = GRPC_OP_RECV_CLOSE_ON_SERVER
                ops[count].data.recv_close_on_server.cancelled = batch.cancelled
                count += 1
            }
            batch.start(ops.baseAddress!, count: count)
        }
    }
}

/// How an RPC ends: its status and, for a unary RPC that succeeded, the answer's bytes.
struct CoreAnswer: Sendable {
    var status: grpc_status_code
    var statusMessage: String?
    var message: [UInt8]?

    static func ok(_ message: [UInt8]?) -> CoreAnswer {
        CoreAnswer(status: GRPC_STATUS_OK, statusMessage: nil, message: message)
    }

    static func failed(_ status: grpc_status_code, _ text: String) -> CoreAnswer {
        CoreAnswer(status: status, statusMessage: text, message: nil)
    }
}

/// One batch of operations on a call, and what it must keep alive until the core is done with it:
/// the call, the message sent, the status text, the flag the close operation writes.
final class CoreBatch: CoreCompletion, @unchecked Sendable {
    let call: CoreCall
    var message: UnsafeMutablePointer<grpc_byte_buffer>?
    var statusDetails: UnsafeMutablePointer<grpc_slice>?
    let cancelled = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    /// Where a receive operation puts the message.
    let received = UnsafeMutablePointer<UnsafeMutablePointer<grpc_byte_buffer>?>.allocate(capacity: 1)
    /// For a receive operation: what to do with the message.
    var onRead: (@Sendable (CoreCall.Request) -> Void)?
    private let done: (@Sendable (_ success: Bool, _ cancelled: Bool) -> Void)?

    init(call: CoreCall, done: (@Sendable (_ success: Bool, _ cancelled: Bool) -> Void)?) {
        self.call = call
        self.done = done
        cancelled.initialize(to: 0)
        received.initialize(to: nil)
    }

    deinit {
        if let message { grpc_byte_buffer_destroy(message) }
        if let buffer = received.pointee { grpc_byte_buffer_destroy(buffer) }
        received.deallocate()
        if let statusDetails {
            grpc_slice_unref(statusDetails.pointee)
            statusDetails.deallocate()
        }
        cancelled.deallocate()
    }

    /// Hands the operations to the core; when it refuses them, the batch completes as failed at once.
    func start(_ ops: UnsafeMutablePointer<grpc_op>, count: Int) {
        let tag = retainedTag()
        let status = grpc_call_start_batch(call.call, ops, count, tag, nil)
        if status != GRPC_CALL_OK {
            CoreCompletion.abandon(tag)
            done?(false, true)
        }
    }

    override func complete(success: Bool) {
        if let onRead {
            if !success {
                onRead(.failed)
            } else if let buffer = received.pointee, let bytes = CoreBytes.read(buffer) {
                onRead(.message(bytes))
            } else {
                onRead(received.pointee == nil ? .none : .failed)
            }
        }
        done?(success, cancelled.pointee != 0)
    }
}
