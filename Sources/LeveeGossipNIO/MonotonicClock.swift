public import LeveePolicy

/// The shell's bridge from `ContinuousClock` to the `Instant`s the pure gossip types take: nanoseconds
/// since the clock was made.
///
/// `MembershipInstance` and `SerfInstance` never read a clock; the node reads this one and passes
/// `now` in, and sleeps until the `Instant`s they ask to be woken at.
public struct MonotonicClock: Sendable {
    private let origin: ContinuousClock.Instant

    public init() {
        origin = ContinuousClock.now
    }

    /// The current instant on this clock's timeline.
    public func now() -> Instant {
        Instant(nanoseconds: (ContinuousClock.now - origin).nanoseconds)
    }

    /// Sleeps until `deadline` or at most `limit`, whichever comes first; returns at once when the
    /// deadline has passed. Throws `CancellationError` when the task is cancelled.
    public func sleep(until deadline: Instant, atMost limit: Duration) async throws {
        let remaining = min(deadline - now(), limit)
        guard remaining > .zero else { return }
        try await Task.sleep(for: remaining)
    }
}
