import LeveeClock
import LeveeGossipNIO
import LeveePolicy
import ServiceLifecycle

/// Runs the active health checks of every upstream that has `health_check`, each check a child task
/// of one task group, for as long as the agent runs.
///
/// Each round asks every live runtime of the registry for the checks now due, so that a reload (new,
/// changed or removed upstreams) and discovery (new endpoint lists) are followed without any
/// bookkeeping here: the runtimes' trackers decide what is due. Between rounds it sleeps until the
/// earliest next check, or until the registry's change signal rings (a reload, new endpoints), and
/// at least `rest` between two rounds; with no health check configured it sleeps until a change. At
/// shutdown the running checks are cancelled and record nothing.
struct HealthCheckService: Service {
    let registry: UpstreamRegistry
    let clock: any InstantClock
    /// The least time between two rounds that a change (rather than a due check) started.
    var rest: Duration = .milliseconds(200)

    func run() async throws {
        // Rung when a check ends: its tracker then knows when the endpoint's next check is due.
        let checkEnded = ChangeSignal()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    let versions = (registry.changes.version, checkEnded.version)
                    var earliest: Instant?
                    for runtime in registry.runtimes() {
                        let (checks, next) = runtime.startDueHealthChecks()
                        for check in checks {
                            group.addTask {
                                await runtime.runHealthCheck(check)
                                checkEnded.notify()
                            }
                        }
                        if let next, earliest.map({ next < $0 }) ?? true { earliest = next }
                    }
                    guard await waitForChange(after: versions, checkEnded: checkEnded, orUntil: earliest) else {
                        break
                    }
                }
                group.cancelAll()
            }
        }
    }

    /// Returns when the next check is due, when a check ends, or (at least `rest` from now) when the
    /// registry's change signal rings after `versions.0`; false when cancelled.
    private func waitForChange(
        after versions: (UInt64, UInt64),
        checkEnded: ChangeSignal,
        orUntil due: Instant?
    ) async -> Bool {
        let restUntil = clock.now() + rest
        let dueFirst = due.map { $0 <= restUntil } ?? false
        if dueFirst, let due {
            return (try? await clock.sleep(until: due)) != nil
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [registry, clock] in
                guard (try? await clock.sleep(until: restUntil)) != nil else { return }
                await registry.changes.wait(after: versions.0)
            }
            group.addTask { await checkEnded.wait(after: versions.1) }
            if let due {
                group.addTask { [clock] in _ = try? await clock.sleep(until: due) }
            }
            await group.next()
            group.cancelAll()
        }
        return !Task.isCancelled
    }
}
