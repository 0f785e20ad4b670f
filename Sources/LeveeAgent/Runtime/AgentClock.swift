public import LeveePolicy

/// The agent's one clock: `ContinuousClock` seen as the `Instant`s the policy core takes (nanoseconds
/// since the clock was made), and back again for sleeping until a policy deadline.
public struct AgentClock: Sendable {
    private let origin: ContinuousClock.Instant

    public init() {
        origin = ContinuousClock.now
    }

    /// The current instant on this clock's timeline.
    public func now() -> Instant {
        Instant(nanoseconds: (ContinuousClock.now - origin).nanoseconds)
    }

    /// The `ContinuousClock` instant that `instant` stands for, for `Task.sleep(until:)`.
    public func continuousInstant(for instant: Instant) -> ContinuousClock.Instant {
        // Far-future instants would overflow the continuous clock's representation; a day is plenty.
        origin + min(.nanoseconds(instant.nanoseconds), (ContinuousClock.now - origin) + .seconds(86_400))
    }

    /// Sleeps until `instant`; returns at once when it has passed. Throws `CancellationError` when the
    /// task is cancelled.
    public func sleep(until instant: Instant) async throws {
        try await Task.sleep(until: continuousInstant(for: instant), clock: .continuous)
    }
}
