// A spike for issue 16: a levee.v1.Guard Ping server in Swift on gRPC's C core (libgrpc, the C API
// the C++ library wraps), to measure what Swift costs on top of the C core's transport before building
// a real Guard server on it. It answers `/levee.v1.Guard/Ping` with an empty message on a Unix socket
// (it requests no other method's calls: those wait out their deadline); one thread (or --threads N)
// drives one completion queue; `--pending N` calls are requested ahead.
//
//   ccore-ping --socket PATH [--threads N] [--pending N]
//
// Built by bench/guard/build.sh into bench/out/guard-ccore-swift; bench/guard-servers.py measures it.
// Prints "listening" once bound and serves until SIGTERM or SIGINT.

import CGRPCCore
import Glibc

/// One call's state, from the request of a call to its last batch; its address is the batch tag.
struct CallSlot {
    /// Waiting for a call, or answering one.
    var answering = false
    var call: OpaquePointer?
    var deadline = gpr_timespec()
    var metadata = grpc_metadata_array()
    var payload: UnsafeMutablePointer<grpc_byte_buffer>?
    var cancelled: Int32 = 0
    var ops = (grpc_op(), grpc_op(), grpc_op(), grpc_op())
}

/// The server, its completion queue and the registered Ping method. The C core is thread-safe: each
/// driving thread polls the one queue and owns the slot whose tag it got.
final class PingServer: @unchecked Sendable {
    let server: OpaquePointer
    let queue: OpaquePointer
    let ping: UnsafeMutableRawPointer

    init?(socket: String) {
        grpc_init()
        queue = grpc_completion_queue_create_for_next(nil)
        server = grpc_server_create(nil, nil)
        grpc_server_register_completion_queue(server, queue, nil)
        let credentials = grpc_insecure_server_credentials_create()
        let bound = grpc_server_add_http2_port(server, "unix:" + socket, credentials)
        grpc_server_credentials_release(credentials)
        ping = grpc_server_register_method(
            server,
            "/levee.v1.Guard/Ping",
            nil,
            GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
            0
        )
        guard bound != 0 else { return nil }
        grpc_server_start(server)
    }

    func requestCall(_ slot: UnsafeMutablePointer<CallSlot>) {
        slot.pointee.answering = false
        slot.pointee.call = nil
        slot.pointee.payload = nil
        grpc_metadata_array_init(&slot.pointee.metadata)
        let status = grpc_server_request_registered_call(
            server,
            ping,
            &slot.pointee.call,
            &slot.pointee.deadline,
            &slot.pointee.metadata,
            &slot.pointee.payload,
            queue,
            queue,
            UnsafeMutableRawPointer(slot)
        )
        precondition(status == GRPC_CALL_OK, "request_registered_call: \(status)")
    }

    /// A call has come: the empty PingResponse, status OK, and the close, in one batch.
    func answer(_ slot: UnsafeMutablePointer<CallSlot>) {
        if let payload = slot.pointee.payload { grpc_byte_buffer_destroy(payload) }
        slot.pointee.payload = nil
        grpc_metadata_array_destroy(&slot.pointee.metadata)
        slot.pointee.answering = true
        let response = grpc_raw_byte_buffer_create(nil, 0)
        let cancelled = UnsafeMutableRawPointer(slot).advanced(by: MemoryLayout<CallSlot>.offset(of: \.cancelled)!)
            .assumingMemoryBound(to: Int32.self)
        withOps(slot) { ops in
            for index in 0..<4 { ops[index] = grpc_op() }
            ops[0].op = GRPC_OP_SEND_INITIAL_METADATA
            ops[1].op = GRPC_OP_SEND_MESSAGE
            ops[1].data.send_message.send_message = response
            ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER
            ops[2].data.send_status_from_server.status = GRPC_STATUS_OK
            ops[3].op = GRPC_OP_RECV_CLOSE_ON_SERVER
            ops[3].data.recv_close_on_server.cancelled = cancelled
            let status = grpc_call_start_batch(slot.pointee.call, ops, 4, UnsafeMutableRawPointer(slot), nil)
            precondition(status == GRPC_CALL_OK, "start_batch: \(status)")
        }
    }

    /// The answer is out: the call is done; the slot waits for the next call.
    func finish(_ slot: UnsafeMutablePointer<CallSlot>) {
        withOps(slot) { ops in
            if let message = ops[1].data.send_message.send_message { grpc_byte_buffer_destroy(message) }
        }
        grpc_call_unref(slot.pointee.call)
        requestCall(slot)
    }

    private func withOps(_ slot: UnsafeMutablePointer<CallSlot>, _ body: (UnsafeMutablePointer<grpc_op>) -> Void) {
        let ops = UnsafeMutableRawPointer(slot).advanced(by: MemoryLayout<CallSlot>.offset(of: \.ops)!)
        body(ops.bindMemory(to: grpc_op.self, capacity: 4))
    }

    /// Starts `threads` threads that each drive the queue.
    func start(threads: Int) {
        for _ in 0..<threads {
            var thread = pthread_t()
            let argument = Unmanaged.passRetained(self).toOpaque()
            pthread_create(
                &thread,
                nil,
                { argument in
                    Unmanaged<PingServer>.fromOpaque(argument!).takeRetainedValue().drive()
                    return nil
                },
                argument
            )
        }
    }

    /// Polls the queue until it shuts down.
    func drive() {
        while true {
            let event = grpc_completion_queue_next(queue, gpr_inf_future(GPR_CLOCK_REALTIME), nil)
            switch event.type {
            case GRPC_QUEUE_SHUTDOWN:
                return
            case GRPC_OP_COMPLETE:
                let slot = event.tag.assumingMemoryBound(to: CallSlot.self)
                if slot.pointee.answering {
                    finish(slot)
                } else if event.success != 0 {
                    answer(slot)
                }
            default:
                continue
            }
        }
    }
}

func say(_ line: String, to descriptor: Int32) {
    var line = line + "\n"
    line.withUTF8 { _ = write(descriptor, $0.baseAddress, $0.count) }
}

var socketPath = ""
var threads = 1
var pending = 64
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--socket": socketPath = arguments.next() ?? ""
    case "--threads": threads = Int(arguments.next() ?? "") ?? 0
    case "--pending": pending = Int(arguments.next() ?? "") ?? 0
    default: socketPath = ""
    }
}
guard !socketPath.isEmpty, threads > 0, pending > 0 else {
    say("usage: ccore-ping --socket PATH [--threads N] [--pending N]", to: 2)
    exit(2)
}

// Block the stop signals in every thread the core starts; this one waits for them below.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

guard let server = PingServer(socket: socketPath) else {
    say("ccore-ping: cannot listen on unix:\(socketPath)", to: 2)
    exit(1)
}
for _ in 0..<pending {
    let slot = UnsafeMutablePointer<CallSlot>.allocate(capacity: 1)
    slot.initialize(to: CallSlot())
    server.requestCall(slot)
}
server.start(threads: threads)
say("listening on unix:\(socketPath) (C core from Swift, \(threads) thread(s))", to: 1)
var received: Int32 = 0
sigwait(&stopSignals, &received)
exit(0)
