import Foundation

/// The demo's one clock: `CLOCK_MONOTONIC`, which on Linux (and macOS) is the same for every process of
/// the machine, so that the orchestrator, the load generator and the servers stamp their events on one
/// time line.
enum DemoClock {
    /// Nanoseconds on the machine's monotonic clock.
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Seconds from `origin` to now.
    static func seconds(since origin: UInt64) -> Double {
        Double(Int64(bitPattern: now() &- origin)) / 1e9
    }

    /// Sleeps until the monotonic instant `deadline` (at once when it has passed).
    static func sleep(until deadline: UInt64) async throws {
        let current = now()
        guard deadline > current else { return }
        try await Task.sleep(nanoseconds: deadline - current)
    }
}
