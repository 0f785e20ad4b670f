/// A member's status as Serf sees it (serf serf.go `MemberStatus`); the raw value is Go's, which the
/// `_serf_conflict` response carries.
public enum SerfMemberStatus: Int, Hashable, Sendable, CaseIterable {
    /// Not known (the status before a first memberlist join).
    case none = 0
    case alive = 1
    /// A leave intent was seen while the member was alive; memberlist's leave will make it `left`.
    case leaving = 2
    /// Left gracefully; kept as a tombstone for `tombstoneTimeout`.
    case left = 3
    /// memberlist declared it dead without a leave intent; retried, then reaped after `reconnectTimeout`.
    case failed = 4
}
