/// A small, fast, seedable random number generator (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014).
///
/// Jitter does not need a cryptographic source; it needs to be cheap on the hot path and repeatable
/// in tests. The shells seed one per upstream from the system generator (the policy core itself never
/// reads a random source); tests seed it with a constant.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline
    var state: UInt64

    /// A generator that yields the same sequence for the same seed.
    @inlinable
    public init(seed: UInt64) {
        self.state = seed
    }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }
}
