/// Ten 64-bit words stored inline, for the fixed-size tables of the policy core (the HTTP status bitmap,
/// the retry budget's ring of slices).
///
/// A tuple instead of an `Array` keeps these tables inside their owner's storage: no heap allocation, no
/// copy-on-write check, no reference count on the hot path. (`InlineArray` would do the same but needs
/// macOS 26.)
@usableFromInline
struct FixedWords: Hashable, Sendable {
    @usableFromInline
    static let count = 10

    @usableFromInline
    var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    @inlinable
    init() {
        storage = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    }

    @inlinable
    subscript(index: Int) -> UInt64 {
        get {
            precondition(index >= 0 && index < Self.count, "FixedWords index out of range")
            return withUnsafeBytes(of: storage) { $0.load(fromByteOffset: index &* 8, as: UInt64.self) }
        }
        set {
            precondition(index >= 0 && index < Self.count, "FixedWords index out of range")
            withUnsafeMutableBytes(of: &storage) {
                $0.storeBytes(of: newValue, toByteOffset: index &* 8, as: UInt64.self)
            }
        }
    }

    @inlinable
    static func == (lhs: FixedWords, rhs: FixedWords) -> Bool {
        for index in 0..<count where lhs[index] != rhs[index] { return false }
        return true
    }

    @inlinable
    func hash(into hasher: inout Hasher) {
        for index in 0..<Self.count { hasher.combine(self[index]) }
    }
}
