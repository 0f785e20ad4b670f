/// One of Serf's three Lamport clocks (member, event, query), as a value (serf lamport.go).
///
/// Each starts at 1 (serf.go `Create` increments all three once).
public struct LamportClock: Hashable, Sendable {
    /// The current time: the value a sender stamps on its next message.
    public private(set) var time: LamportTime

    public init(time: LamportTime = LamportTime(1)) {
        self.time = time
    }

    /// Advances the clock and returns the new time (lamport.go `Increment`).
    @discardableResult
    public mutating func increment() -> LamportTime {
        time.rawValue &+= 1
        return time
    }

    /// Moves the clock past a time seen from a peer: if `other ≥ time`, `time = other + 1`
    /// (lamport.go `Witness`).
    public mutating func witness(_ other: LamportTime) {
        if other >= time && other.rawValue < .max {
            time = LamportTime(other.rawValue + 1)
        }
    }
}
