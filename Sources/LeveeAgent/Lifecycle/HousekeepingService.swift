import LeveeClock
import LeveePolicy
import ServiceLifecycle

/// The registry's periodic work, every `interval`: permit leases that ran out are recorded as timeouts
/// and their slots freed, ejected endpoints whose time is up are restored, a change of the service
/// level is logged, and runtimes retired by a reload are closed once idle. (Queued calls are not its
/// business: each wakes at its own queue deadline.)
struct HousekeepingService: Service {
    let registry: UpstreamRegistry
    let clock: any InstantClock
    var interval: Duration = .milliseconds(20)

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await registry.housekeeping()
            try? await clock.sleep(until: clock.now() + interval)
        }
    }
}
