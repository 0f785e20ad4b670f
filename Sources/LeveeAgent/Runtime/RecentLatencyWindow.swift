public import LeveePolicy

/// The calls that finished in the last `span` (10 s by default): how many, how many did not end OK,
/// and their latency quantiles, for `levee upstreams` (`latency_p50_us`, `latency_p99_us`,
/// `recent_calls`, `recent_failures`).
///
/// The span is cut into one-second buckets (a ring); each bucket keeps a log-scale histogram of
/// latencies with four bins per power of two, so a quantile is at most a quarter above the true value
/// (and never above the largest latency seen). Memory is fixed whatever the call rate. Pure: time is
/// a parameter.
public struct RecentLatencyWindow: Sendable {
    /// One bucket of the ring: the calls that finished during one `width` of time.
    struct Bucket: Sendable {
        /// Which `width`-long slice of the timeline this bucket holds; stale when outside the span.
        var slot: Int64 = .min
        var calls = 0
        var failures = 0
        var maximum: Duration = .zero
        var bins: [UInt32]
    }

    /// What the window says now.
    public struct Summary: Hashable, Sendable {
        public var calls: Int
        public var failures: Int
        public var p50: Duration
        public var p99: Duration

        public init(calls: Int, failures: Int, p50: Duration, p99: Duration) {
            self.calls = calls
            self.failures = failures
            self.p50 = p50
            self.p99 = p99
        }
    }

    /// Four bins per power of two of microseconds, up to 2^40 µs (about 12 days).
    static let binsPerOctave = 4
    static let binCount = 40 * binsPerOctave + 1

    private let width: Duration
    private var buckets: [Bucket]

    public init(span: Duration = .seconds(10), buckets count: Int = 10) {
        precondition(count > 0 && span > .zero, "a window needs a span and at least one bucket")
        width = span / count
        buckets = Array(repeating: Bucket(bins: Array(repeating: 0, count: Self.binCount)), count: count)
    }

    /// Records a call that finished at `now`, after `latency`; `failed` when it did not end OK.
    public mutating func record(_ latency: Duration, failed: Bool, now: Instant) {
        let slot = self.slot(of: now)
        let index = Int(slot.modulo(Int64(buckets.count)))
        if buckets[index].slot != slot {
            buckets[index].slot = slot
            buckets[index].calls = 0
            buckets[index].failures = 0
            buckets[index].maximum = .zero
            for bin in buckets[index].bins.indices { buckets[index].bins[bin] = 0 }
        }
        buckets[index].calls += 1
        if failed { buckets[index].failures += 1 }
        buckets[index].maximum = max(buckets[index].maximum, latency)
        buckets[index].bins[Self.bin(of: latency)] &+= 1
    }

    /// The calls of the buckets still inside the span at `now`.
    public func summary(now: Instant) -> Summary {
        let current = slot(of: now)
        let oldest = current - Int64(buckets.count) + 1
        var merged = Array(repeating: 0, count: Self.binCount)
        var calls = 0
        var failures = 0
        var maximum = Duration.zero
        for bucket in buckets where bucket.slot >= oldest && bucket.slot <= current {
            calls += bucket.calls
            failures += bucket.failures
            maximum = max(maximum, bucket.maximum)
            for (bin, count) in bucket.bins.enumerated() where count > 0 { merged[bin] += Int(count) }
        }
        return Summary(
            calls: calls,
            failures: failures,
            p50: Self.quantile(0.5, of: merged, total: calls, maximum: maximum),
            p99: Self.quantile(0.99, of: merged, total: calls, maximum: maximum)
        )
    }

    /// The `q`-th quantile of the latencies of the calls still inside the span at `now`, and how many
    /// calls it comes from (zero for none). Reads only the bins, allocating nothing.
    public func quantile(_ q: Double, now: Instant) -> (calls: Int, latency: Duration) {
        let current = slot(of: now)
        let oldest = current - Int64(buckets.count) + 1
        var calls = 0
        var maximum = Duration.zero
        for bucket in buckets where bucket.slot >= oldest && bucket.slot <= current {
            calls += bucket.calls
            maximum = max(maximum, bucket.maximum)
        }
        guard calls > 0 else { return (0, .zero) }
        let rank = max(1, Int((q * Double(calls)).rounded(.up)))
        var seen = 0
        for bin in 0..<Self.binCount {
            for bucket in buckets where bucket.slot >= oldest && bucket.slot <= current {
                seen += Int(bucket.bins[bin])
            }
            if seen >= rank { return (calls, min(Self.upperBound(of: bin), maximum)) }
        }
        return (calls, maximum)
    }

    private func slot(of instant: Instant) -> Int64 {
        let width = max(1, self.width.nanoseconds)
        return instant.nanoseconds.floorDivided(by: width)
    }

    /// The bin of a latency: 0 below one microsecond, else 1 + 4·octave + quarter, where the octave
    /// is ⌊log2(µs)⌋ and the quarter is which fourth of that octave the latency falls in.
    static func bin(of latency: Duration) -> Int {
        let microseconds = latency.nanoseconds / 1_000
        guard microseconds >= 1 else { return 0 }
        let octave = 63 - microseconds.leadingZeroBitCount
        let quarter = Int(((microseconds - (1 << octave)) * 4) >> octave)
        return min(1 + octave * binsPerOctave + quarter, binCount - 1)
    }

    /// The largest latency a bin holds.
    static func upperBound(of bin: Int) -> Duration {
        guard bin > 0 else { return .microseconds(1) }
        let octave = Int64((bin - 1) / binsPerOctave)
        let quarter = Int64((bin - 1) % binsPerOctave)
        return .nanoseconds((Int64(1_000) << octave) * (4 + quarter + 1) / 4)
    }

    /// The upper bound of the bin holding the `q`-th call by latency, never above the largest seen.
    static func quantile(_ q: Double, of bins: [Int], total: Int, maximum: Duration) -> Duration {
        guard total > 0 else { return .zero }
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        var seen = 0
        for (bin, count) in bins.enumerated() {
            seen += count
            if seen >= rank { return min(upperBound(of: bin), maximum) }
        }
        return maximum
    }
}

extension Int64 {
    /// Floor division, for instants before the origin too.
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    /// The non-negative remainder.
    fileprivate func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
