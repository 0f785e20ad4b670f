/// The instant by which a call must be over, all attempts and backoff included (gRFC A6: "the call
/// deadline spans all attempts").
///
/// DESIGN.md "Deadlines": the effective deadline is the earliest of the app's `timeout_ms`, the gRPC
/// deadline of the Guard call and the upstream's `timeouts.total` (Finagle `Deadline.combined` also
/// keeps the earliest). `Deadline.none` is a deadline at `Instant.distantFuture`, so composition needs no
/// special case.
public struct Deadline: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The instant the call's time runs out; `Instant.distantFuture` when it has no deadline.
    public var instant: Instant

    /// A deadline at `instant`.
    @inlinable
    public init(_ instant: Instant) {
        self.instant = instant
    }

    /// No deadline: never expires.
    public static let none = Deadline(.distantFuture)

    /// The deadline `timeout` after `now` (saturating), or `none` when `timeout` is nil.
    @inlinable
    public static func after(_ timeout: Duration?, from now: Instant) -> Deadline {
        guard let timeout else { return .none }
        return Deadline(now + timeout)
    }

    /// Whether this is `none`.
    @inlinable
    public var isNone: Bool { instant == .distantFuture }

    /// The earliest of `deadlines`; `none` when there are none.
    @inlinable
    public static func earliest(of deadlines: Deadline...) -> Deadline {
        var earliest = Deadline.none
        for deadline in deadlines where deadline < earliest { earliest = deadline }
        return earliest
    }

    /// The earlier of this deadline and `other`.
    @inlinable
    public func earliest(_ other: Deadline) -> Deadline {
        other < self ? other : self
    }

    @inlinable
    public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        lhs.instant < rhs.instant
    }

    /// The time left at `now`: zero once expired, never negative; `Int64.max` nanoseconds (about 292
    /// years) for `none`.
    @inlinable
    public func remaining(now: Instant) -> Duration {
        guard !isNone else { return .nanoseconds(Int64.max) }
        guard now < instant else { return .zero }
        return instant - now
    }

    /// Whether no time is left at `now`. The deadline instant itself is expired: nothing remains then.
    @inlinable
    public func isExpired(now: Instant) -> Bool {
        now >= instant
    }

    /// The timeout of an attempt starting at `now`: `min(configured, remaining)` (DESIGN.md "Deadlines":
    /// `min(timeouts.attempt, remaining)`). Zero once the deadline has passed; never negative.
    @inlinable
    public func attemptTimeout(configured: Duration, now: Instant) -> Duration {
        Swift.max(.zero, Swift.min(configured, remaining(now: now)))
    }

    public var description: String {
        isNone ? "Deadline(none)" : "Deadline(\(instant))"
    }
}
