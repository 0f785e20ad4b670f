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
/// earliest next check, at most `maximumSleep`, so that an upstream added by a reload is picked up
/// soon. At shutdown the running checks are cancelled and record nothing.
struct HealthCheckService: Service {
    let registry: UpstreamRegistry
    let clock: any InstantClock
    var maximumSleep: Duration = .milliseconds(200)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    var earliest: Instant?
                    for runtime in registry.runtimes() {
                        let (checks, next) = runtime.startDueHealthChecks()
                        for check in checks {
                            group.addTask { await runtime.runHealthCheck(check) }
                        }
                        if let next, earliest.map({ next < $0 }) ?? true { earliest = next }
                    }
                    let wakeAt = earliest ?? clock.now() + maximumSleep
                    guard (try? await clock.sleep(until: wakeAt, atMost: maximumSleep)) != nil else { break }
                }
                group.cancelAll()
            }
        }
    }
}
