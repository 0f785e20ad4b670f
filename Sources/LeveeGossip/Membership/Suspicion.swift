public import LeveePolicy

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Lifeguard suspicion timer of one suspected node (Lifeguard §3.2 "Local Health Aware
/// Suspicion"; memberlist suspicion.go, state.go `suspectNode`).
///
/// A lone suspicion waits `maximum`; each independent confirmation from another member (up to
/// `expectedConfirmations`) shortens the wait logarithmically towards `minimum`, so a node that many
/// members cannot reach is declared dead sooner, while one that a single slow member accuses has
/// time to refute.
public struct Suspicion: Hashable, Sendable {
    /// When the node became suspect; the timer fires only if it is still suspect from this change.
    public let start: Instant
    public let minimum: Duration
    public let maximum: Duration
    /// `k`: how many confirmations bring the timeout down to `minimum`.
    public let expectedConfirmations: Int
    /// The members that accused the node, the first accuser included.
    public private(set) var accusers: Set<String>
    /// When the node is declared dead unless it refutes first.
    public private(set) var deadline: Instant

    /// A timer started by `from` at `now` (suspicion.go `newSuspicion`): `maximum` when
    /// confirmations are expected, else `minimum`.
    public init(from: String, expectedConfirmations: Int, minimum: Duration, maximum: Duration, now: Instant) {
        self.start = now
        self.minimum = minimum
        self.maximum = maximum
        self.expectedConfirmations = expectedConfirmations
        self.accusers = [from]
        self.deadline = now + (expectedConfirmations < 1 ? minimum : maximum)
    }

    /// Confirmations received so far (accusers other than the first).
    public var confirmations: Int { accusers.count - 1 }

    /// Records an accusation by `from`. Returns whether it was a new confirmation, which the caller
    /// re-gossips (suspicion.go `Confirm`).
    public mutating func confirm(from: String, now: Instant) -> Bool {
        guard confirmations < expectedConfirmations, !accusers.contains(from) else { return false }
        accusers.insert(from)
        deadline =
            start + Self.timeout(confirmations: confirmations, of: expectedConfirmations, min: minimum, max: maximum)
        return true
    }

    /// `max − log(c+1)/log(k+1) × (max − min)`, floored to the millisecond and at least `min`
    /// (suspicion.go `remainingSuspicionTime`, before the elapsed time is taken off).
    public static func timeout(confirmations: Int, of expected: Int, min: Duration, max: Duration) -> Duration {
        guard expected > 0 else { return min }
        let fraction = log(Double(confirmations) + 1) / log(Double(expected) + 1)
        let seconds = max.seconds - fraction * (max.seconds - min.seconds)
        let milliseconds = Int64((1000 * seconds).rounded(.down))
        return Swift.max(.milliseconds(milliseconds), min)
    }

    /// `suspicionMult × max(1, log10(max(1, n))) × probeInterval`, the node scale truncated to
    /// 1/1000 (memberlist util.go `suspicionTimeout`). LAN: 4 s below 10 nodes, 8 s at 100.
    public static func minimumTimeout(suspicionMult: Int, nodeCount: Int, probeInterval: Duration) -> Duration {
        let nodeScale = Swift.max(1, log10(Double(Swift.max(1, nodeCount))))
        let scaleMillis = Int64(nodeScale * 1000)
        return .nanoseconds(Int64(suspicionMult) * scaleMillis * probeInterval.nanoseconds / 1000)
    }

    /// `k = suspicionMult − 2`, or 0 when fewer than `k` other members could confirm (state.go
    /// `suspectNode`: `n − 2` leaves out ourselves and the suspect).
    public static func expectedConfirmations(suspicionMult: Int, nodeCount: Int) -> Int {
        let k = suspicionMult - 2
        return nodeCount - 2 < k ? 0 : Swift.max(0, k)
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
