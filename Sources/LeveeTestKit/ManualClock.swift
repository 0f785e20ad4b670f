public import LeveePolicy

/// A clock that moves only when a test says so.
///
/// Policies take `now` as a parameter; a test keeps one of these, advances it, and passes `clock.now`.
public struct ManualClock: Sendable {
    /// The current instant.
    public private(set) var now: Instant

    /// A clock that starts at `start` (by default one hour after the origin, so that instants a little
    /// before "now" exist too).
    public init(start: Instant = Instant(nanoseconds: 3_600_000_000_000)) {
        self.now = start
    }

    /// Moves the clock forward by `duration`.
    public mutating func advance(by duration: Duration) {
        precondition(duration >= .zero, "a manual clock only moves forward")
        now += duration
    }

    /// Moves the clock to `instant`, which must not be in the past.
    public mutating func advance(to instant: Instant) {
        precondition(instant >= now, "a manual clock only moves forward")
        now = instant
    }
}
