import CoreMetrics
import Glibc
import LeveeClock
import LeveeConfiguration
import LeveePolicy
import Logging
import NIOCore
import Synchronization

/// The credentials of the process at the other end of a Unix-domain connection, as the kernel
/// recorded them when it connected (`SO_PEERCRED`, `SO_PEERGROUPS`): they cannot be forged by the
/// caller.
struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    /// The supplementary groups; empty when the kernel could not say (more than ``maxGroups``).
    var groups: [UInt32]

    /// `struct ucred` of `<sys/socket.h>` (Glibc hides it behind `_GNU_SOURCE`).
    private struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The most supplementary groups read; a caller in more is judged on its uid and primary group.
    static let maxGroups = 64

    /// Reads the credentials of `channel`'s peer, on its event loop.
    static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(PeerCredentialError.notASocket)
        }
        let level = SocketOptionLevel(SOL_SOCKET)
        let credentials: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: level,
            name: SocketOptionName(SO_PEERCRED)
        )
        return credentials.flatMap { credentials in
            // NIO zero-fills the buffer, so the slots the kernel did not write read as gid 0: a
            // supplementary group 0 is ignored (the primary group 0 is not).
            let groups: EventLoopFuture<InlineArray<64, UInt32>> = provider.unsafeGetSocketOption(
                level: level,
                name: SocketOptionName(SO_PEERGROUPS)
            )
            return groups.map { slots in
                var groups: [UInt32] = []
                for index in slots.indices where slots[index] != 0 { groups.append(slots[index]) }
                return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid, groups: groups)
            }.recover { _ in
                PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid, groups: [])
            }
        }
    }

    /// Reads the credentials of the peer of the connected socket `descriptor`.
    static func read(descriptor: Int32) throws(PeerCredentialError) -> PeerCredentials {
        var credentials = UCred()
        var length = socklen_t(MemoryLayout<UCred>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else {
            throw .unreadable(errno: errno)
        }
        var slots = [UInt32](repeating: 0, count: maxGroups)
        var groupsLength = socklen_t(maxGroups * MemoryLayout<UInt32>.size)
        let groupsRead = slots.withUnsafeMutableBytes {
            getsockopt(descriptor, SOL_SOCKET, SO_PEERGROUPS, $0.baseAddress, &groupsLength) == 0
        }
        let groups = groupsRead ? Array(slots.prefix(Int(groupsLength) / MemoryLayout<UInt32>.size)) : []
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid, groups: groups)
    }

    var description: String {
        "pid \(pid), uid \(uid), gid \(gid)"
    }
}

/// Why a connection was closed before anything was read from it.
enum PeerCredentialError: Error, CustomStringConvertible {
    /// The channel has no socket to ask (never on the agent's listeners).
    case notASocket
    /// The caller is not on the socket's allow list.
    case refused(PeerCredentials, socket: String)
    /// `getsockopt(SO_PEERCRED)` failed.
    case unreadable(errno: Int32)

    var description: String {
        switch self {
        case .notASocket: "the connection has no socket to read the caller's credentials from"
        case .refused(let peer, let socket): "\(socket) socket: refused the caller (\(peer))"
        case .unreadable(let code): "the caller's credentials cannot be read: \(String(cString: strerror(code)))"
        }
    }
}

/// Lets a connection on one of the agent's Unix sockets through only when its caller's uid or one of
/// its groups is on the socket's allow list (`listen.allow`, `listen.admin_allow`); a refused one is
/// closed before anything is read from it, counted in `levee_connections_refused_total{socket}`, and
/// logged as one warning per uid a minute.
///
/// The list is read at each connection, so that a reload's new list applies to the next one.
public final class PeerCredentialGate: Sendable {
    /// The socket's name in the log and the metric: `guard`, `admin` or `proxy`.
    let socket: String
    private let allowList: @Sendable () -> PeerAllowList?
    private let refusedCounter: Counter
    private let logger: Logger
    private let clock: MonotonicClock
    /// When each refused uid was last logged.
    private let lastWarned = Mutex<[UInt32: Instant]>([:])
    /// How often one uid's refusals are logged.
    static let warningInterval = Duration.seconds(60)

    init(
        socket: String,
        metrics: AgentMetrics,
        logger: Logger,
        clock: MonotonicClock,
        allowList: @escaping @Sendable () -> PeerAllowList?
    ) {
        self.socket = socket
        self.allowList = allowList
        self.refusedCounter = Counter(
            label: MetricName.connectionsRefused,
            dimensions: [("socket", socket)],
            factory: metrics.factory
        )
        self.logger = logger
        self.clock = clock
    }

    /// Succeeds when the caller may use the socket; otherwise closes `channel` and fails.
    func admit(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard let list = allowList() else { return channel.eventLoop.makeSucceededVoidFuture() }
        return PeerCredentials.read(from: channel).flatMap { peer in
            if list.admits(uid: peer.uid, gid: peer.gid, groups: peer.groups) {
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            self.refuse(peer)
            return channel.close().flatMapThrowing { throw PeerCredentialError.refused(peer, socket: self.socket) }
        }.flatMapErrorThrowing { error in
            if case PeerCredentialError.refused = error { throw error }
            // Credentials that cannot be read let nobody in.
            self.refusedCounter.increment()
            self.logger.warning("\(self.socket) socket: refused a caller whose credentials cannot be read: \(error)")
            channel.close(promise: nil)
            throw error
        }
    }

    /// Whether the caller at the other end of the connected socket `descriptor` may use the socket;
    /// a refusal is counted and logged (the caller closes the connection).
    func admits(descriptor: Int32) -> Bool {
        guard let list = allowList() else { return true }
        do {
            let peer = try PeerCredentials.read(descriptor: descriptor)
            if list.admits(uid: peer.uid, gid: peer.gid, groups: peer.groups) { return true }
            refuse(peer)
        } catch {
            refusedCounter.increment()
            logger.warning("\(socket) socket: refused a caller whose credentials cannot be read: \(error)")
        }
        return false
    }

    private func refuse(_ peer: PeerCredentials) {
        refusedCounter.increment()
        let now = clock.now()
        let shouldWarn = lastWarned.withLock { warned in
            if let last = warned[peer.uid], now - last < Self.warningInterval { return false }
            warned[peer.uid] = now
            return true
        }
        guard shouldWarn else { return }
        logger.warning(
            "\(socket) socket: refused a caller not on its allow list (at most one line a minute per uid)",
            metadata: ["pid": "\(peer.pid)", "uid": "\(peer.uid)", "gid": "\(peer.gid)", "socket": "\(socket)"]
        )
    }
}
