/// How much a call matters when capacity is short (DESIGN.md, "Bulkhead").
///
/// The wire enum `levee.v1.Priority` maps one to one onto this.
public enum Priority: Int, CaseIterable, Hashable, Sendable {
    /// Served before everything else and alone allowed into the bulkhead's reserved slots.
    case critical = 0
    /// The default.
    case normal = 1
    /// Dropped first: never queued, only admitted while a slot is free at once.
    case sheddable = 2
}
