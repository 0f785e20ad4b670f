import LeveeClock
import LeveePolicy
import ServiceLifecycle

/// The registry's housekeeping: permit leases that ran out are recorded as timeouts and their slots
/// freed, ejected endpoints whose time is up are restored, a change of the service level is logged,
/// and runtimes retired by a reload are closed once idle. (Queued calls are not its business: each
/// wakes at its own queue deadline.)
///
/// It runs when there is something to do, not on a clock: after a pass it waits until the earliest
/// lease expiry or end of an ejection, or until the registry's change signal rings (a call, a permit,
/// a breaker transition, a reload), whichever comes first, and at least `rest` between two passes.
/// An idle agent with no lease and no ejection sleeps until something happens.
struct HousekeepingService: Service {
    let registry: UpstreamRegistry
    let clock: any InstantClock
    /// The least time between two passes: changes that come faster are handled together.
    var rest: Duration = .milliseconds(20)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let version = registry.changes.version
                let due = await registry.housekeeping()
                guard (try? await clock.sleep(until: clock.now() + rest)) != nil else { return }
                await waitForChange(after: version, orUntil: due)
            }
        }
    }

    /// Returns when the change signal rings after `version`, when `due` comes, or when cancelled.
    private func waitForChange(after version: UInt64, orUntil due: Instant?) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await registry.changes.wait(after: version) }
            if let due {
                group.addTask { [clock] in _ = try? await clock.sleep(until: due) }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
