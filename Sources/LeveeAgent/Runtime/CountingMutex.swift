import Synchronization

/// A `Mutex` that counts how often it is taken, so that a test can hold the runtime to its lock
/// budget (a single-attempt call takes the runtime's lock at most three times). The count costs one
/// relaxed atomic add per acquisition.
struct CountingMutex<Value: ~Copyable>: ~Copyable, Sendable {
    private let mutex: Mutex<Value>
    private let count = Atomic<UInt64>(0)

    init(_ value: consuming sending Value) {
        mutex = Mutex(value)
    }

    /// How many times the lock has been taken.
    var acquisitions: UInt64 {
        count.load(ordering: .relaxed)
    }

    borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        count.add(1, ordering: .relaxed)
        return try mutex.withLock(body)
    }
}
