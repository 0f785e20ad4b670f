/// A Lamport timestamp (serf lamport.go `LamportTime`, a uint64 on the wire).
public struct LamportTime: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(_ value: UInt64) {
        rawValue = value
    }

    public static func < (lhs: LamportTime, rhs: LamportTime) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }

    /// Whether this time is more than `window` ticks behind `current`: serf keeps the last `window`
    /// LTimes of events and queries in a ring and drops anything older, which it could no longer
    /// deduplicate (serf.go `handleUserEvent`, `handleQuery`).
    func isBehindWindow(of current: LamportTime, window: Int) -> Bool {
        let size = UInt64(window)
        return current.rawValue > size && rawValue < current.rawValue - size
    }
}
