import LeveeClock
import LeveePolicy
import ServiceLifecycle

/// Ends chaos faults on time: each expiry is one log line, even when no traffic comes. It wakes at the
/// next expiry or when the fault table changes (an add, a clear), never on a fixed rate: an agent with
/// no fault sleeps until one is added.
struct FaultExpiryService: Service {
    let faults: FaultTable
    let clock: any InstantClock

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let version = faults.changes.version
                let due = faults.expire()
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await faults.changes.wait(after: version) }
                    if let due {
                        group.addTask { [clock] in _ = try? await clock.sleep(until: due) }
                    }
                    await group.next()
                    group.cancelAll()
                }
            }
        }
    }
}
