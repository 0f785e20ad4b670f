import Glibc
import Logging

/// Accepts the connections of a Unix socket for a ``CoreServer``, on a thread of its own: each one
/// is counted against `listen.max_connections` and shown to the peer-credential gate before the core
/// reads a byte of it, then handed to the core.
///
/// The core does not say when a connection closes, so the acceptor keeps a duplicate of each
/// descriptor in its `poll` set, asking for no event: the kernel still reports the hang-up once both
/// directions are shut (the client closed, or the core shut the socket down on its way to closing
/// it), and the acceptor then closes its duplicate and stops counting the connection. At rest the
/// thread sleeps in `poll` with no timeout. (`poll` rather than epoll: the set changes only when a
/// connection opens or closes, and is bounded by `listen.max_connections`.)
final class CoreAcceptor: @unchecked Sendable {
    private let listener: Int32
    /// ``stop()`` writes to the second to wake the thread, which polls the first.
    private let wake: (read: Int32, write: Int32)
    private let server: CoreServer
    private let limits: ListenerLimitState
    private let gate: PeerCredentialGate
    private let logger: Logger
    private var thread: CoreThread?
    /// The duplicates of the connections open, each with the descriptor the core was handed (the
    /// thread's own).
    private var watched: [Int32: Int32] = [:]
    /// How long accepting pauses, in milliseconds, when the process is out of descriptors (the
    /// connection waits in the backlog).
    static let descriptorPause: Int32 = 100

    init(
        listener: Int32,
        server: CoreServer,
        limits: ListenerLimitState,
        gate: PeerCredentialGate,
        logger: Logger
    ) throws(UnixSocketError) {
        self.listener = listener
        self.server = server
        self.limits = limits
        self.gate = gate
        self.logger = logger
        var ends: [Int32] = [-1, -1]
        // (pipe2 is hidden behind _GNU_SOURCE: the flags are set after.)
        guard pipe(&ends) == 0,
            ends.allSatisfy({ fcntl($0, F_SETFD, FD_CLOEXEC) == 0 && fcntl($0, F_SETFL, O_NONBLOCK) == 0 }),
            fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK) == 0
        else {
            let code = errno
            ends.filter { $0 >= 0 }.forEach { close($0) }
            throw .system(call: "pipe2/fcntl", path: "", errno: code)
        }
        wake = (ends[0], ends[1])
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    func start() {
        thread = CoreThread { [self] in run() }
    }

    /// Stops accepting and closes the listening descriptor. The connections already handed over stay
    /// with the core (its shutdown ends them).
    func stop() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        thread?.join()
        thread = nil
    }

    private func run() {
        var paused = false
        while true {
            // The wake-up pipe, the listener (unless paused), then the connections' duplicates.
            var set = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            set.append(pollfd(fd: paused ? -1 : listener, events: Int16(POLLIN), revents: 0))
            for descriptor in watched.keys { set.append(pollfd(fd: descriptor, events: 0, revents: 0)) }
            let count = poll(&set, nfds_t(set.count), paused ? Self.descriptorPause : -1)
            if count < 0 { continue }  // EINTR
            if count == 0 {
                paused = false
                continue
            }
            if set[0].revents != 0 {
                finish()
                return
            }
            if set[1].revents != 0 && !acceptAll() { paused = true }
            for entry in set.dropFirst(2) where entry.revents != 0 {
                guard let connection = watched.removeValue(forKey: entry.fd) else { continue }
                close(entry.fd)
                limits.connections.closed()
                server.connectionClosed(connection)
            }
        }
    }

    /// Accepts every connection waiting; false when the process is out of descriptors.
    private func acceptAll() -> Bool {
        while true {
            // (accept4 is hidden behind _GNU_SOURCE: the flags are set after.)
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    logger.warning("\(limits.socket) socket: out of file descriptors; accepting paused for 100 ms")
                    return false
                default: return true
                }
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            _ = fcntl(connection, F_SETFL, O_NONBLOCK)
            guard limits.connections.admit() else {
                limits.hit(.maxConnections)
                close(connection)
                continue
            }
            guard gate.admits(descriptor: connection) else {
                close(connection)
                limits.connections.closed()
                continue
            }
            let duplicate = fcntl(connection, F_DUPFD_CLOEXEC, 0)
            if duplicate >= 0 {
                watched[duplicate] = connection
            } else {
                // Not tracked: counted as closed at once rather than forever open.
                limits.connections.closed()
            }
            server.addConnection(connection)
        }
    }

    /// The thread's end: the listening descriptor closed, the duplicates too (their connections are
    /// no longer counted: the server is shutting down).
    private func finish() {
        close(listener)
        for descriptor in watched.keys {
            close(descriptor)
            limits.connections.closed()
        }
        watched.removeAll()
    }
}
