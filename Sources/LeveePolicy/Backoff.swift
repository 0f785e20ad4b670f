/// The delays between the attempts of one call: exponential backoff with jitter (AWS Architecture
/// Blog, Brooker, "Exponential Backoff And Jitter", 2015).
///
/// One value per logical call. It remembers how many delays it has drawn (for `nextDelay(using:)`) and,
/// for decorrelated jitter, the previous delay. Every delay lies in [0, `max`] (and in [`base`, `max`]
/// for decorrelated jitter), whatever n: the ceiling is computed in floating point and saturates at
/// `max` instead of overflowing. Drawing a delay reads the generator it is given and nothing else: no
/// allocation, no clock.
public struct Backoff: Sendable {
    /// The configuration the delays follow.
    public let configuration: BackoffConfiguration

    @usableFromInline
    let baseNanoseconds: Int64
    @usableFromInline
    let maxNanoseconds: Int64
    @usableFromInline
    let multiplier: Double
    @usableFromInline
    let jitter: BackoffConfiguration.Jitter

    /// The number of delays drawn by `nextDelay(using:)` since the start or the last `reset()`.
    @inlinable
    public var retriesDrawn: Int { drawn }

    @usableFromInline
    var drawn: Int = 0

    /// The last delay drawn, in nanoseconds; the seed of decorrelated jitter's next draw.
    @usableFromInline
    var previousNanoseconds: Int64

    /// A backoff at its start: the next delay is the first retry's.
    public init(configuration: BackoffConfiguration = .defaults) {
        self.configuration = configuration
        self.baseNanoseconds = Swift.max(0, configuration.base.nanoseconds)
        self.maxNanoseconds = Swift.max(0, configuration.max.nanoseconds)
        self.multiplier = configuration.multiplier.isNaN ? 1 : Swift.max(1, configuration.multiplier)
        self.jitter = configuration.jitter
        self.previousNanoseconds = Swift.max(0, configuration.base.nanoseconds)
    }

    /// The ceiling of retry `n`'s delay, `min(max, base·multiplier^(n−1))`, saturating at `max` for any
    /// n. n below 1 counts as 1.
    @inlinable
    public func ceiling(forRetry n: Int) -> Duration {
        .nanoseconds(ceilingNanoseconds(forRetry: n))
    }

    @inlinable
    func ceilingNanoseconds(forRetry n: Int) -> Int64 {
        let cap = maxNanoseconds
        guard baseNanoseconds > 0, cap > 0 else { return 0 }
        // multiplier^(n−1) by squaring: O(log n) steps, and once the product passes the cap it can only
        // grow (multiplier ≥ 1), so stop there. Doubles reach +inf rather than trapping.
        var exponent = UInt(Swift.max(n, 1) &- 1)
        var factor = multiplier
        var value = Double(baseNanoseconds)
        let capDouble = Double(cap)
        while exponent > 0 && value < capDouble {
            if exponent & 1 == 1 { value *= factor }
            exponent >>= 1
            factor *= factor
        }
        guard value < capDouble else { return cap }
        return Swift.min(cap, Int64(value))
    }

    /// The delay before retry `n` (n ≥ 1; the first retry is n = 1), drawn with the configured jitter.
    ///
    /// Decorrelated jitter ignores n beyond restarting from `base` at n = 1: it grows from the last
    /// delay drawn, as the AWS article defines it.
    @inlinable
    public mutating func delay(forRetry n: Int, using rng: inout some RandomNumberGenerator) -> Duration {
        let cap = maxNanoseconds
        let nanoseconds: Int64
        switch jitter {
        case .none:
            nanoseconds = ceilingNanoseconds(forRetry: n)
        case .full:
            nanoseconds = Int64.random(in: 0...ceilingNanoseconds(forRetry: n), using: &rng)
        case .equal:
            let ceiling = ceilingNanoseconds(forRetry: n)
            let half = ceiling / 2
            nanoseconds = half + Int64.random(in: 0...(ceiling - half), using: &rng)
        case .decorrelated:
            let base = Swift.min(baseNanoseconds, cap)
            let previous = n <= 1 ? base : Swift.max(previousNanoseconds, base)
            let (tripled, overflow) = previous.multipliedReportingOverflow(by: 3)
            let upper = overflow ? cap : Swift.min(cap, tripled)
            nanoseconds = upper <= base ? upper : Int64.random(in: base...upper, using: &rng)
        }
        previousNanoseconds = nanoseconds
        return .nanoseconds(nanoseconds)
    }

    /// The delay before the next retry of this call: retry `retriesDrawn + 1`.
    @inlinable
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        drawn = drawn == .max ? .max : drawn + 1
        return delay(forRetry: drawn, using: &rng)
    }

    /// Makes retry `n` the next one `nextDelay(using:)` draws (n ≥ 1): for a call whose earlier attempts
    /// were made elsewhere, such as an app's retry through `Acquire`.
    @inlinable
    public mutating func resume(atRetry n: Int) {
        drawn = Swift.max(n, 1) - 1
        previousNanoseconds = baseNanoseconds
    }

    /// Starts the sequence again from the first retry's delay.
    ///
    /// gRFC A6 ("Pushback"): after a retry the server asked to delay, later retries back off again
    /// from the initial backoff.
    @inlinable
    public mutating func reset() {
        drawn = 0
        previousNanoseconds = baseNanoseconds
    }
}
