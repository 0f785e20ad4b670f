import ServiceLifecycle

/// The agent's side of `Type=notify`: `READY=1` once the group runs (the sockets were bound and
/// listening before it started), `WATCHDOG=1` every half `WATCHDOG_USEC` while it serves, and
/// `STOPPING=1` as soon as a graceful shutdown begins, so that `systemctl stop` shows the drain.
/// Reloads say `RELOADING=1` and `READY=1` through ``Reloader``, which owns them.
///
/// It stands just before ``DrainNotice`` in the group: shutdown runs in reverse, so it hears of a
/// shutdown right after `/readyz` turns 503 and before any server stops.
struct SystemdNotifyService: Service {
    let notifier: SystemdNotifier

    func run() async {
        notifier.send(.ready)
        if let interval = notifier.watchdogInterval {
            // Cancelled at graceful shutdown; the sleep's CancellationError ends the loop.
            try? await cancelWhenGracefulShutdown {
                while true {
                    notifier.send(.watchdog)
                    try await Task.sleep(for: interval)
                }
            }
        } else {
            try? await gracefulShutdown()
        }
        notifier.send(.stopping)
    }
}
