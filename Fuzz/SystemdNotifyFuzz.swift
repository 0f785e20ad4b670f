// The `notify` fuzz target: the environment systemd hands the agent (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
// `WATCHDOG_PID`) → `SystemdNotifier.address` (the socket address, a path or an abstract name) and
// `watchdogInterval`. No socket is opened. Compiled by scripts/fuzz-all into the LeveeAgent module.
//
// The peer credentials (`PeerCredentialGate`) have no parse to fuzz: the kernel fills a `struct ucred`
// and a fixed array of 64 group ids (`SO_PEERCRED`, `SO_PEERGROUPS`), and the gate only skips the
// zero slots and looks the ids up in the allow list.

/// One environment, its three values separated by NUL bytes (which an environment value cannot hold).
enum SystemdNotifyFuzz {
    static let keys = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]

    static func run(_ input: UnsafeRawBufferPointer) {
        var environment: [String: String] = [:]
        let values = input.split(separator: 0, maxSplits: keys.count - 1, omittingEmptySubsequences: false)
        for (key, value) in zip(keys, values) {
            // As `getenv` gives it to `String(cString:)`: invalid UTF-8 repaired.
            environment[key] = String(decoding: value, as: UTF8.self)
        }
        if let name = environment["NOTIFY_SOCKET"] { _ = SystemdNotifier.address(name) }
        _ = SystemdNotifier.watchdogInterval(environment: environment, processID: 4242)
    }

    static var seeds: [[UInt8]] {
        [
            "/run/systemd/notify\u{0}30000000\u{0}4242", "@/org/freedesktop/systemd1/notify\u{0}1000000",
            "/run/user/1000/systemd/notify",
        ].map { Array($0.utf8) }
    }
}
