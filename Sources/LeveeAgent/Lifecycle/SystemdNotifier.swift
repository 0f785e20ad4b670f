import Dispatch
import Glibc

/// Tells systemd how the agent is doing, by the `sd_notify` protocol: one datagram per state, of
/// newline-separated `KEY=VALUE` lines, to the Unix socket named by `$NOTIFY_SOCKET` (a path, or an
/// abstract name written with a leading `@`). With `Type=notify` systemd waits for `READY=1` before
/// it starts the units ordered after the agent; with `WatchdogSec=` it expects `WATCHDOG=1` within
/// every `$WATCHDOG_USEC`.
///
/// Written after sd_notify(3) and systemd.service(5) rather than linking libsystemd: the protocol
/// is a datagram, and the agent also runs in containers that have no libsystemd.
public final class SystemdNotifier: Sendable {
    /// What the agent can say; each is one datagram.
    public enum Notification: Sendable, Hashable {
        /// Start-up is done: the sockets accept and the servers answer.
        case ready
        /// A reload begins. systemd ≥ 253 wants `MONOTONIC_USEC` beside it (`Type=notify-reload`), the
        /// time of the request on `CLOCK_MONOTONIC`, so that it can tell this reload from a later one.
        case reloading(monotonicMicroseconds: UInt64)
        /// A graceful shutdown begins: the agent drains.
        case stopping
        /// The agent is alive (the service watchdog).
        case watchdog

        /// The datagram's text.
        public var message: String {
            switch self {
            case .ready: "READY=1"
            case .reloading(let microseconds): "RELOADING=1\nMONOTONIC_USEC=\(microseconds)"
            case .stopping: "STOPPING=1"
            case .watchdog: "WATCHDOG=1"
            }
        }
    }

    /// The socket's name as `$NOTIFY_SOCKET` wrote it.
    public let socketName: String
    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises;
    /// nil when systemd watches nothing (or watches another process, per `$WATCHDOG_PID`).
    public let watchdogInterval: Duration?
    private let address: sockaddr_un
    private let addressLength: socklen_t
    private let descriptor: Int32

    /// The notifier that `environment` asks for, or nil when `NOTIFY_SOCKET` is unset or unusable
    /// (not started by systemd: nothing to tell). `processID` is this process's (`getpid()`) unless given.
    public init?(environment: [String: String], processID: Int32? = nil) {
        guard let name = environment["NOTIFY_SOCKET"], let (address, length) = Self.address(name) else {
            return nil
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        self.socketName = name
        self.address = address
        self.addressLength = length
        self.descriptor = descriptor
        self.watchdogInterval = Self.watchdogInterval(environment: environment, processID: processID ?? getpid())
    }

    /// The notifier for this process's environment (`getenv`), or nil.
    public static func fromProcessEnvironment() -> SystemdNotifier? {
        var environment: [String: String] = [:]
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let value = getenv(key) { environment[key] = String(cString: value) }
        }
        return SystemdNotifier(environment: environment)
    }

    deinit {
        close(descriptor)
    }

    /// Sends one notification. Failures are ignored, as sd_notify's callers do: systemd may have
    /// gone, and the agent's work does not depend on it.
    @discardableResult
    public func send(_ notification: Notification) -> Bool {
        var address = address
        let bytes = Array(notification.message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    sendto(
                        descriptor,
                        buffer.baseAddress,
                        buffer.count,
                        Int32(MSG_NOSIGNAL),
                        socketAddress,
                        addressLength
                    )
                }
            }
        }
        return sent == bytes.count
    }

    /// `CLOCK_MONOTONIC` now, in microseconds: the clock systemd compares `MONOTONIC_USEC` with.
    public static func monotonicMicroseconds() -> UInt64 {
        // Dispatch's uptime is CLOCK_MONOTONIC on Linux. (Not clock_gettime here: importing `timespec`
        // in this module made `stat` resolve to CoreFoundation under MemberImportVisibility in a
        // whole-module build, breaking UnixListeningSocket.)
        DispatchTime.now().uptimeNanoseconds / 1_000
    }

    /// `sockaddr_un` for a path (`/run/systemd/notify`) or an abstract name (`@name`: a leading NUL
    /// byte, and a length that counts only the name's bytes).
    static func address(_ name: String) -> (sockaddr_un, socklen_t)? {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@") else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A path needs its terminating NUL; an abstract name has the leading one instead.
        guard bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
            if first == UInt8(ascii: "@") { buffer[0] = 0 }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        let length = first == UInt8(ascii: "@") ? pathOffset + bytes.count : pathOffset + bytes.count + 1
        return (address, socklen_t(length))
    }

    /// Half of `WATCHDOG_USEC` when it is set and, if `WATCHDOG_PID` is set, names this process.
    static func watchdogInterval(environment: [String: String], processID: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else {
            return nil
        }
        if let pid = environment["WATCHDOG_PID"], Int32(pid) != processID { return nil }
        return .microseconds(Int64(clamping: microseconds / 2))
    }
}
