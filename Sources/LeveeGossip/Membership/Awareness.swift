/// Lifeguard's local health multiplier (Lifeguard §3.1 "Local Health Aware Probe"; memberlist
/// awareness.go).
///
/// A member that misses acks it should have had, or that must refute accusations, is more likely
/// the slow one; it then waits longer before accusing others. The score is clamped to
/// `0..<maxMultiplier`, and timeouts are multiplied by `score + 1`.
public struct Awareness: Hashable, Sendable {
    public let maxMultiplier: Int
    public private(set) var score: Int = 0

    public init(maxMultiplier: Int) {
        self.maxMultiplier = max(1, maxMultiplier)
    }

    /// Adds `delta`, keeping the score within `0...maxMultiplier - 1` (awareness.go `ApplyDelta`).
    public mutating func apply(delta: Int) {
        score = min(max(score + delta, 0), maxMultiplier - 1)
    }

    /// `timeout × (score + 1)` (awareness.go `ScaleTimeout`).
    public func scale(_ timeout: Duration) -> Duration {
        timeout * (score + 1)
    }
}
