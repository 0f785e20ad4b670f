/// A set of HTTP status codes, 100 to 599, as a 640-bit map stored inline.
///
/// The outcome classifier and the retry conditions ask "is this status in the list?" on every attempt;
/// a bitmap answers in one shift and mask, with no hashing and no allocation.
public struct HTTPStatusSet: Hashable, Sendable {
    /// The codes a set can hold: the three-digit range of RFC 9110 §15 ("the first digit of the status
    /// code defines the class of response", 1xx to 5xx).
    public static let validRange: ClosedRange<Int> = 100...599

    @usableFromInline
    var words = FixedWords()

    /// An empty set.
    @inlinable
    public init() {}

    /// A set holding every code of `ranges` (clamped to `validRange`).
    public init(_ ranges: ClosedRange<Int>...) {
        for range in ranges { insert(range) }
    }

    /// Adds `status`; a code outside `validRange` is ignored.
    @inlinable
    public mutating func insert(_ status: Int) {
        guard Self.validRange.contains(status) else { return }
        words[status &>> 6] |= 1 &<< UInt64(status & 63)
    }

    /// Adds every code of `range` that lies in `validRange`.
    public mutating func insert(_ range: ClosedRange<Int>) {
        let lower = Swift.max(range.lowerBound, Self.validRange.lowerBound)
        let upper = Swift.min(range.upperBound, Self.validRange.upperBound)
        guard lower <= upper else { return }
        for status in lower...upper { insert(status) }
    }

    /// Adds every code of `other`.
    @inlinable
    public mutating func formUnion(_ other: HTTPStatusSet) {
        for index in 0..<FixedWords.count { words[index] |= other.words[index] }
    }

    /// Whether `status` is in the set; never for a code outside `validRange`.
    @inlinable
    public func contains(_ status: Int) -> Bool {
        guard status >= 100 && status <= 599 else { return false }
        return words[status &>> 6] & (1 &<< UInt64(status & 63)) != 0
    }

    /// Whether the set holds no code.
    @inlinable
    public var isEmpty: Bool {
        for index in 0..<FixedWords.count where words[index] != 0 { return false }
        return true
    }
}
