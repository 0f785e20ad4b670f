import LeveePolicy

/// The last successful answer per cache key, for the `stale` fallback: bounded in entries, evicting
/// the least recently used, and answering only entries no older than `maxAge`.
struct StaleCache<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        var storedAt: Instant
        var lastUse: UInt64
    }

    let maxAge: Duration
    let capacity: Int
    private var entries: [String: Entry] = [:]
    private var useCounter: UInt64 = 0

    init(maxAge: Duration, capacity: Int) {
        self.maxAge = maxAge
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    /// Remembers `value` as the freshest answer for `key`.
    mutating func store(_ value: Value, for key: String, now: Instant) {
        useCounter &+= 1
        entries[key] = Entry(value: value, storedAt: now, lastUse: useCounter)
        if entries.count > capacity { evict() }
    }

    /// The answer stored for `key` if it is no older than `maxAge`, and its age.
    mutating func lookup(_ key: String, now: Instant) -> (value: Value, age: Duration)? {
        guard var entry = entries[key] else { return nil }
        let age = now - entry.storedAt
        guard age <= maxAge else {
            entries[key] = nil
            return nil
        }
        useCounter &+= 1
        entry.lastUse = useCounter
        entries[key] = entry
        return (entry.value, age)
    }

    /// Drops the least recently used eighth at once, so that a full cache pays for a sort once per
    /// capacity/8 insertions rather than a scan per insertion.
    private mutating func evict() {
        let drop = max(1, entries.count - capacity + capacity / 8)
        let victims = entries.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(drop).map(\.key)
        for key in victims { entries[key] = nil }
    }
}
