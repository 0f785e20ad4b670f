import NIOCore
import Synchronization

/// The connections open on one listener, against `listen.max_connections`.
final class OpenConnections: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts `channel` until it closes and returns true, or returns false when the listener already
    /// has `limit` open (the caller closes it).
    func admit(_ channel: any Channel) -> Bool {
        guard count.wrappingAdd(1, ordering: .relaxed).newValue <= limit else {
            count.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        channel.closeFuture.whenComplete { [self] _ in count.wrappingSubtract(1, ordering: .relaxed) }
        return true
    }

    /// Counts a connection the caller tracks itself (it calls ``closed()`` when it closes) and returns
    /// true, or returns false when the listener already has `limit` open.
    func admit() -> Bool {
        guard count.wrappingAdd(1, ordering: .relaxed).newValue <= limit else {
            count.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// A connection counted by ``admit()`` has closed.
    func closed() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }

    var current: Int { count.load(ordering: .relaxed) }
}

/// Why a connection was closed as soon as it was accepted.
enum ListenerLimitError: Error, CustomStringConvertible {
    case tooManyConnections(socket: String)

    var description: String {
        switch self {
        case .tooManyConnections(let socket): "\(socket) socket: listen.max_connections reached; connection closed"
        }
    }
}
