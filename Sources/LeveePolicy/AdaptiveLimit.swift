/// A concurrency limit that follows an upstream's latency: Netflix concurrency-limits' `Gradient2Limit`
/// or `AIMDLimit` (78a74b9), as a value.
///
/// Each attempt that reached the upstream is one `Sample`: its round-trip time, how many calls held a
/// bulkhead slot when it started, and whether it was dropped (timed out). `record(_:)` folds it in and
/// says when the whole-number limit changed. The bulkhead admits up to `limit` calls; a lower limit takes
/// no slot away from a call that holds one, it only keeps new calls waiting.
///
/// Gradient2 (Netflix `Gradient2Limit._update`):
/// - the short RTT is the last sample's; the long RTT is the plain average of the first 10 samples, then
///   an exponential average over 600 (factor 2/601); when the long RTT is more than twice the short one
///   (latency came back down after a long overload), it is cut by 5 % so that it catches up;
/// - while fewer than half the slots are in use the limit holds (the app, not the upstream, limits);
/// - gradient = clamp(tolerance · long / short, 0.5, 1); new = limit · gradient + 4;
///   limit ← (1 − smoothing) · limit + smoothing · new, clamped into [min, max].
///
/// AIMD (Netflix `AIMDLimit._update`), on the whole-number limit L:
/// - a drop (a timed-out attempt, or one slower than `timeout`): L ← ⌊L · backoff_ratio⌋;
/// - else, while at least half the slots are in use: L ← L + 1;
/// - clamped into [min, max].
///
/// The shell feeds samples through ``record(_:now:)``, which folds them into windows first, as Netflix
/// `WindowedLimit` does: a window lasts twice its shortest RTT (at least ``minimumWindow``, at most
/// ``maximumWindow``), and longer until it has more than ``windowSamples`` samples; then it gives the
/// algorithm one sample: its average RTT, its most calls in flight, and whether any was dropped. Fed one sample per
/// attempt, both algorithms move the limit many times per round trip on samples that still show the
/// limit of a round trip ago, and overshoot the upstream's knee by as much again before the first
/// slow answer arrives; one update per window of about two round trips keeps each move within what
/// the last one could show. ``record(_:)`` feeds the algorithm directly.
///
/// Pure: no clock (the shell passes the time), no randomness, no I/O.
public struct AdaptiveLimit: Sendable {
    /// One attempt, as the limiter sees it.
    public struct Sample: Hashable, Sendable {
        /// How long the attempt took.
        public var rtt: Duration
        /// Calls holding a slot when the attempt started, itself included (Netflix `inflight`).
        public var inFlight: Int
        /// Whether the attempt was dropped: it timed out.
        public var dropped: Bool

        public init(rtt: Duration, inFlight: Int, dropped: Bool = false) {
            self.rtt = rtt
            self.inFlight = inFlight
            self.dropped = dropped
        }
    }

    /// The whole-number limit moved.
    public struct Change: Hashable, Sendable, CustomStringConvertible {
        public var from: Int
        public var to: Int
        /// The RTT estimates at the change.
        public var shortRTT: Duration
        public var longRTT: Duration

        public init(from: Int, to: Int, shortRTT: Duration, longRTT: Duration) {
            self.from = from
            self.to = to
            self.shortRTT = shortRTT
            self.longRTT = longRTT
        }

        public var description: String {
            "limit \(from) -> \(to) (rtt short \(shortRTT.roundedToMicroseconds), long \(longRTT.roundedToMicroseconds))"
        }
    }

    /// The samples of the window being gathered (Netflix `ImmutableAverageSampleWindow`).
    struct Window: Sendable {
        var count = 0
        var totalNanoseconds: Double = 0
        var minimumNanoseconds = Int64.max
        var maximumInFlight = 0
        var dropped = false

        mutating func add(_ sample: Sample) {
            let nanoseconds = sample.rtt.nanoseconds
            count += 1
            totalNanoseconds += Double(nanoseconds)
            minimumNanoseconds = min(minimumNanoseconds, nanoseconds)
            maximumInFlight = max(maximumInFlight, sample.inFlight)
            dropped = dropped || sample.dropped
        }
    }

    /// A window holds more than this many samples before it counts (Netflix `windowSize`, 10).
    public static let windowSamples = 10
    /// The shortest and the longest a window lasts (Netflix `minWindowTime` and `maxWindowTime`, there
    /// 1 s each by default; here the window follows the round trip down to 1 ms, so that the limit can
    /// settle within a fraction of a second of a change in load).
    public static let minimumWindow = Duration.milliseconds(1)
    public static let maximumWindow = Duration.seconds(1)

    public let configuration: AdaptiveLimitConfiguration
    private var window = Window()
    /// When the window being gathered ends; nil before the first sample.
    private var windowEnds: Instant?
    /// The limit as a real number (Gradient2 moves it by fractions); `limit` is its whole part.
    public private(set) var estimate: Double
    /// Samples folded in so far (through ``record(_:now:)``, each a window of attempts).
    public private(set) var samples: UInt64 = 0
    private var shortNanoseconds: Double = 0
    private var longNanoseconds: Double = 0

    /// A limiter starting at `configuration.initialLimit(maxConcurrent:)`; the configuration must be valid.
    public init(configuration: AdaptiveLimitConfiguration, maxConcurrent: Int) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.estimate = Double(configuration.initialLimit(maxConcurrent: maxConcurrent))
    }

    /// How many calls may hold a slot now.
    @inlinable
    public var limit: Int { Int(estimate) }

    /// The last sample's RTT (zero before the first).
    public var shortRTT: Duration { .nanoseconds(Int64(shortNanoseconds)) }

    /// The long-term average RTT (zero before the first sample).
    public var longRTT: Duration { .nanoseconds(Int64(longNanoseconds)) }

    /// Adds one attempt that ended at `now` to the window; when the window has ended, folds it in as one
    /// sample. Returns the change when the whole-number limit moved.
    @discardableResult
    public mutating func record(_ sample: Sample, now: Instant) -> Change? {
        window.add(sample)
        guard let ends = windowEnds else {
            windowEnds = now + Self.minimumWindow
            return nil
        }
        // A window that has lasted its time but holds too few samples stays open until it has enough
        // (Netflix drops it and starts another: under light traffic the limit would then never move).
        guard now >= ends, window.count > Self.windowSamples else { return nil }
        let ended = window
        window = Window()
        let span = Duration.nanoseconds(ended.minimumNanoseconds) * 2
        windowEnds = now + min(Self.maximumWindow, max(Self.minimumWindow, span))
        let average = Duration.nanoseconds(Int64(ended.totalNanoseconds / Double(ended.count)))
        return record(Sample(rtt: average, inFlight: ended.maximumInFlight, dropped: ended.dropped))
    }

    /// Folds in one sample, unwindowed; returns the change when the whole-number limit moved.
    @discardableResult
    public mutating func record(_ sample: Sample) -> Change? {
        let before = limit
        // A zero RTT (an answer within the clock's resolution) would make the gradient infinite.
        let rtt = Double(max(sample.rtt.nanoseconds, 1_000))
        samples &+= 1
        shortNanoseconds = rtt
        updateLongRTT(with: rtt)
        switch configuration.algorithm {
        case .gradient2: recordGradient2(rtt: rtt, inFlight: sample.inFlight)
        case .aimd: recordAIMD(rtt: rtt, inFlight: sample.inFlight, dropped: sample.dropped)
        }
        let after = limit
        guard after != before else { return nil }
        return Change(from: before, to: after, shortRTT: shortRTT, longRTT: longRTT)
    }

    /// Netflix `ExpAvgMeasurement(600, 10)`, and Gradient2's catch-up when latency fell far below it. The
    /// AIMD limiter keeps it too, for display.
    private mutating func updateLongRTT(with rtt: Double) {
        let warmup = AdaptiveLimitConfiguration.longRTTWarmup
        if samples <= UInt64(warmup) {
            longNanoseconds += (rtt - longNanoseconds) / Double(samples)
        } else {
            let factor = 2 / Double(AdaptiveLimitConfiguration.longRTTWindow + 1)
            longNanoseconds = longNanoseconds * (1 - factor) + rtt * factor
        }
        if longNanoseconds / rtt > 2 { longNanoseconds *= 0.95 }
    }

    private mutating func recordGradient2(rtt: Double, inFlight: Int) {
        // Netflix: "Don't grow the limit if we are app limited".
        if Double(inFlight) < estimate / 2 { return }
        let gradient = min(1, max(0.5, configuration.tolerance * longNanoseconds / rtt))
        let proposed = estimate * gradient + AdaptiveLimitConfiguration.gradient2QueueSize
        let smoothed = estimate * (1 - configuration.smoothing) + proposed * configuration.smoothing
        estimate = clamp(smoothed)
    }

    private mutating func recordAIMD(rtt: Double, inFlight: Int, dropped: Bool) {
        var current = limit
        if dropped || rtt > Double(configuration.timeout.nanoseconds) {
            current = Int(Double(current) * configuration.backoffRatio)
        } else if inFlight * 2 >= current {
            current += 1
        }
        estimate = clamp(Double(current))
    }

    private func clamp(_ value: Double) -> Double {
        min(Double(configuration.max), max(Double(configuration.min), value))
    }
}

extension Duration {
    /// The duration rounded to the microsecond, for log lines.
    var roundedToMicroseconds: Duration {
        .microseconds((nanoseconds + 500) / 1_000)
    }
}
