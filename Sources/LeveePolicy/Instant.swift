/// A point on a monotonic timeline, in nanoseconds from an arbitrary origin.
///
/// The policy core never reads a clock: every event carries the `now` at which it happened, as an
/// `Instant`. The shells read a monotonic clock (`CLOCK_MONOTONIC`); tests advance a manual one. A plain
/// 64-bit count keeps the hot-path arithmetic to one integer add or compare (292 years of range).
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the timeline's origin.
    public var nanoseconds: Int64

    @inlinable
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The origin of the timeline.
    public static let zero = Instant(nanoseconds: 0)

    /// An instant later than any other; the `Deadline` of a call without one.
    public static let distantFuture = Instant(nanoseconds: .max)

    @inlinable
    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The instant `duration` after `instant`, saturating at `distantFuture` instead of overflowing.
    @inlinable
    public static func + (instant: Instant, duration: Duration) -> Instant {
        let (sum, overflow) = instant.nanoseconds.addingReportingOverflow(duration.nanoseconds)
        if overflow { return duration.nanoseconds > 0 ? .distantFuture : Instant(nanoseconds: .min) }
        return Instant(nanoseconds: sum)
    }

    /// The instant `duration` before `instant`.
    @inlinable
    public static func - (instant: Instant, duration: Duration) -> Instant {
        instant + .nanoseconds(-duration.nanoseconds)
    }

    /// The time from `earlier` to `later`; negative when `later` is before `earlier`.
    @inlinable
    public static func - (later: Instant, earlier: Instant) -> Duration {
        .nanoseconds(later.nanoseconds &- earlier.nanoseconds)
    }

    @inlinable
    public static func += (instant: inout Instant, duration: Duration) {
        instant = instant + duration
    }

    public var description: String {
        "Instant(\(nanoseconds)ns)"
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64.max` (rounded toward zero).
    @inlinable
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return sum
    }

    /// The duration in whole milliseconds, rounded up, so that a non-zero wait never reads as 0 ms.
    @inlinable
    public var millisecondsRoundedUp: Int64 {
        let ns = nanoseconds
        if ns <= 0 { return 0 }
        return (ns - 1) / 1_000_000 + 1
    }
}
