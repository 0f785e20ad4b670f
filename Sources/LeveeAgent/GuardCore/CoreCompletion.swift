import CGRPCCore
import Glibc

/// Something the C core's completion queue hands back once: a requested call, a batch of operations
/// on a call, the server's shutdown. Its retained address is the tag given to the core; the queue's
/// thread takes the reference back and completes it.
///
/// `@unchecked Sendable`: an object is touched by the thread that starts its operation, before the
/// core has it, and then by the queue's thread, after the core has given it back; never by both.
class CoreCompletion: @unchecked Sendable {
    /// Called on the queue's thread when the core hands the tag back.
    func complete(success: Bool) {}

    /// A retained reference to `self`, for the core; ``take(_:)`` or ``abandon(_:)`` returns it.
    final func retainedTag() -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(self).toOpaque()
    }

    /// The object whose tag the core handed back, its reference taken back.
    static func take(_ tag: UnsafeMutableRawPointer) -> CoreCompletion {
        Unmanaged<CoreCompletion>.fromOpaque(tag).takeRetainedValue()
    }

    /// Takes back a tag the core refused (its operation never started).
    static func abandon(_ tag: UnsafeMutableRawPointer) {
        Unmanaged<CoreCompletion>.fromOpaque(tag).release()
    }
}

/// The bytes of gRPC messages as the core holds them (`grpc_byte_buffer`).
enum CoreBytes {
    /// A copy of `buffer`'s bytes (decompressed, when the client compressed the message).
    static func read(_ buffer: UnsafeMutablePointer<grpc_byte_buffer>) -> [UInt8]? {
        var reader = grpc_byte_buffer_reader()
        guard grpc_byte_buffer_reader_init(&reader, buffer) != 0 else { return nil }
        defer { grpc_byte_buffer_reader_destroy(&reader) }
        let slice = grpc_byte_buffer_reader_readall(&reader)
        defer { grpc_slice_unref(slice) }
        let count = levee_slice_length(slice)
        guard count > 0, let start = levee_slice_start(slice) else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: count))
    }

    /// A new buffer holding a copy of `bytes`; the caller destroys it once the core is done with it.
    static func buffer(_ bytes: [UInt8]) -> UnsafeMutablePointer<grpc_byte_buffer> {
        guard !bytes.isEmpty else { return grpc_raw_byte_buffer_create(nil, 0) }
        var slice = bytes.withUnsafeBytes { raw in
            grpc_slice_from_copied_buffer(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
        }
        defer { grpc_slice_unref(slice) }
        return grpc_raw_byte_buffer_create(&slice, 1)
    }

    /// The text of a slice the core owns (a method's path).
    static func string(_ slice: grpc_slice) -> String {
        let count = levee_slice_length(slice)
        guard count > 0, let start = levee_slice_start(slice) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    }
}

/// A POSIX thread the core's server runs on (the completion queue's, the acceptor's): the core's
/// calls block, so they get threads of their own rather than a Swift executor's.
struct CoreThread: @unchecked Sendable {
    private let thread: pthread_t

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        let argument = Unmanaged.passRetained(Box(body)).toOpaque()
        let created = pthread_create(
            &thread,
            nil,
            { argument in
                Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
                return nil
            },
            argument
        )
        precondition(created == 0, "pthread_create: \(created)")
        self.thread = thread
    }

    /// Waits until the thread's body has returned.
    func join() {
        pthread_join(thread, nil)
    }
}
