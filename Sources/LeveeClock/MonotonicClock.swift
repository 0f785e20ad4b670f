public import LeveePolicy

/// The shells' real clock: `ContinuousClock` as the `Instant`s the pure types take, nanoseconds since
/// the clock was made.
public struct MonotonicClock: InstantClock {
    private let origin: ContinuousClock.Instant

    public init() {
        origin = ContinuousClock.now
    }

    public func now() -> Instant {
        Instant(nanoseconds: (ContinuousClock.now - origin).nanoseconds)
    }

    public func sleep(until deadline: Instant) async throws {
        let remaining = deadline - now()
        guard remaining > .zero else { return }
        try await Task.sleep(for: remaining)
    }
}
