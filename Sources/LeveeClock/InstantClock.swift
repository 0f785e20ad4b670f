public import LeveePolicy

/// The time the shells live by: it tells the `Instant` now and sleeps until one.
///
/// The pure types (`GuardedCall`, `MembershipInstance`, …) never read a clock: a shell reads one of
/// these and passes `now` in, and sleeps until the instants they ask to be woken at. The agent and the
/// gossip node run on `MonotonicClock`; tests run them on `TestClock` (LeveeTestKit), which moves only
/// when the test says so.
public protocol InstantClock: Sendable {
    /// The current instant on this clock's timeline.
    func now() -> Instant

    /// Returns once the clock reads `deadline` or later; at once when it already does. Throws
    /// `CancellationError` when the task is cancelled first.
    func sleep(until deadline: Instant) async throws
}

extension InstantClock {
    /// Sleeps until `deadline` or for `limit`, whichever comes first.
    public func sleep(until deadline: Instant, atMost limit: Duration) async throws {
        let now = now()
        try await sleep(until: deadline - now > limit ? now + limit : deadline)
    }
}
