/// A set of endpoint indices as a bitset: the avoid-list of a call's retries, or the endpoints a
/// health source calls available.
///
/// The first 64 endpoints live inline in one word, so for upstreams of up to 64 endpoints building,
/// copying and querying a set never allocates; bits from 64 up spill into an array.
public struct EndpointSet: Hashable, Sendable {
    @usableFromInline
    var low: UInt64 = 0
    /// Words for endpoints 64 and up (word `i` holds endpoints `64(i+1) ..< 64(i+2)`); empty, and so
    /// unallocated, for small upstreams.
    @usableFromInline
    var high: ContiguousArray<UInt64> = []

    /// The empty set.
    @inlinable
    public init() {}

    /// The set of `endpoints`.
    public init(_ endpoints: some Sequence<Int>) {
        for endpoint in endpoints { insert(endpoint) }
    }

    /// The set of all endpoints `0..<count`.
    public static func all(count: Int) -> EndpointSet {
        EndpointSet(0..<count)
    }

    /// Whether `endpoint` is in the set.
    @inlinable
    public func contains(_ endpoint: Int) -> Bool {
        precondition(endpoint >= 0, "endpoint indices are not negative")
        if endpoint < 64 { return low & (1 << UInt64(endpoint)) != 0 }
        let word = endpoint / 64 - 1
        guard word < high.count else { return false }
        return high[word] & (1 << UInt64(endpoint % 64)) != 0
    }

    /// Adds `endpoint` to the set.
    @inlinable
    public mutating func insert(_ endpoint: Int) {
        precondition(endpoint >= 0, "endpoint indices are not negative")
        if endpoint < 64 {
            low |= 1 << UInt64(endpoint)
            return
        }
        let word = endpoint / 64 - 1
        while high.count <= word { high.append(0) }
        high[word] |= 1 << UInt64(endpoint % 64)
    }

    /// Removes `endpoint` from the set.
    @inlinable
    public mutating func remove(_ endpoint: Int) {
        precondition(endpoint >= 0, "endpoint indices are not negative")
        if endpoint < 64 {
            low &= ~(1 << UInt64(endpoint))
            return
        }
        let word = endpoint / 64 - 1
        guard word < high.count else { return }
        high[word] &= ~(1 << UInt64(endpoint % 64))
    }

    /// Empties the set, keeping any storage for reuse.
    @inlinable
    public mutating func removeAll() {
        low = 0
        for index in high.indices { high[index] = 0 }
    }

    /// How many endpoints the set holds.
    @inlinable
    public var count: Int {
        var total = low.nonzeroBitCount
        for word in high { total += word.nonzeroBitCount }
        return total
    }

    /// Whether the set is empty.
    @inlinable
    public var isEmpty: Bool {
        low == 0 && high.allSatisfy { $0 == 0 }
    }

    public static func == (lhs: EndpointSet, rhs: EndpointSet) -> Bool {
        guard lhs.low == rhs.low else { return false }
        let words = max(lhs.high.count, rhs.high.count)
        for index in 0..<words {
            let left = index < lhs.high.count ? lhs.high[index] : 0
            let right = index < rhs.high.count ? rhs.high[index] : 0
            if left != right { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(low)
        // Trailing zero words do not change the set, so they must not change the hash.
        let last = high.lastIndex { $0 != 0 }.map { $0 + 1 } ?? 0
        for index in 0..<last { hasher.combine(high[index]) }
    }
}
