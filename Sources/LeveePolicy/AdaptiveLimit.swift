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
///   limit ← (1 − smoothing) · limit + smoothing · new, clamped into [min, max];
/// - Levee's one departure: the long RTT never rises above the latency a probe last measured at half
///   the load (``record(_:now:)``, every `probe_interval`, 30 s, while the limit binds; `off` keeps
///   Netflix's average alone), because Netflix's average drifts up with the load it is meant to judge
///   (concurrency-limits #137).
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
        /// Why it moved.
        public var reason: Reason

        /// Why the limit moved.
        public enum Reason: Hashable, Sendable {
            /// The algorithm's update on a window.
            case update
            /// Gradient2's probe began: the limit is halved while the long RTT is measured.
            case probeStarted
            /// The probe ended: its window's RTT is the long RTT and its ceiling, the limit is back.
            case probeEnded
        }

        public init(from: Int, to: Int, shortRTT: Duration, longRTT: Duration, reason: Reason = .update) {
            self.from = from
            self.to = to
            self.shortRTT = shortRTT
            self.longRTT = longRTT
            self.reason = reason
        }

        public var description: String {
            let rtt = "rtt short \(shortRTT.roundedToMicroseconds), long \(longRTT.roundedToMicroseconds)"
            switch reason {
            case .update: return "limit \(from) -> \(to) (\(rtt))"
            case .probeStarted: return "limit \(from) -> \(to) to measure the RTT at half the load (\(rtt))"
            case .probeEnded: return "limit \(from) -> \(to) after the probe (\(rtt); the long RTT's new ceiling)"
            }
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

    /// A check of the long RTT in progress: the limit is `limit` for the windows that let the calls
    /// admitted above it finish (`draining`: until a window's calls all started with at most `limit` in
    /// flight, or `maximumDrainingWindows` have passed), then for one window whose average RTT becomes
    /// the long RTT (`measuring`).
    enum Probe: Sendable {
        case draining(limit: Int, windows: Int)
        case measuring(limit: Int)

        var limit: Int {
            switch self {
            case .draining(let limit, _), .measuring(let limit): limit
            }
        }
    }

    /// The most windows a probe waits for the calls admitted before it to finish.
    static let maximumDrainingWindows = 8

    public let configuration: AdaptiveLimitConfiguration
    private var window = Window()
    private var probe: Probe?
    /// When the next probe may start; nil until the long RTT's first average is in.
    private var nextProbe: Instant?
    /// When the window being gathered ends; nil before the first sample.
    private var windowEnds: Instant?
    /// The limit as a real number (Gradient2 moves it by fractions); `limit` is its whole part.
    public private(set) var estimate: Double
    /// Samples folded in so far (through ``record(_:now:)``, each a window of attempts).
    public private(set) var samples: UInt64 = 0
    private var shortNanoseconds: Double = 0
    /// Gradient2: the RTT the last probe measured at half the load, the long RTT's ceiling.
    private var probedNanoseconds: Double?
    private var longNanoseconds: Double = 0

    /// A limiter starting at `configuration.initialLimit(maxConcurrent:)`; the configuration must be valid.
    public init(configuration: AdaptiveLimitConfiguration, maxConcurrent: Int) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.estimate = Double(configuration.initialLimit(maxConcurrent: maxConcurrent))
    }

    /// How many calls may hold a slot now: the estimate's whole part, or half of it during a probe.
    public var limit: Int { probe?.limit ?? Int(estimate) }

    /// Whether a probe of the long RTT is in progress.
    public var isProbing: Bool { probe != nil }

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
        let sample = Sample(rtt: average, inFlight: ended.maximumInFlight, dropped: ended.dropped)
        if let probe { return advance(probe, measured: sample, now: now) }
        let inControl = isInControl(inFlight: sample.inFlight)
        let change = record(sample)
        // The first probe is due as soon as the long RTT's first average is in: a limiter that started
        // under a load past the knee took that load's latency for the normal one.
        if nextProbe == nil, configuration.probeInterval != nil,
            samples >= UInt64(AdaptiveLimitConfiguration.longRTTWarmup)
        {
            nextProbe = now
        }
        guard inControl else { return change }
        return startProbeIfDue(inFlight: sample.inFlight, now: now) ?? change
    }

    /// Whether the limit, not the app, sets how many calls are out: at least half the slots were in use
    /// (Netflix Gradient2's "app limited" test, the other way round).
    private func isInControl(inFlight: Int) -> Bool {
        Double(inFlight) >= estimate / 2
    }

    /// Gradient2's long RTT is Netflix's average of every window, but never above the latency last
    /// measured at half the load. Under a load that keeps the slots busy, the latency the limit
    /// tolerates (up to `tolerance` times the long RTT) would otherwise become the long RTT, and the
    /// limit would climb with it past the upstream's knee, without end (Netflix concurrency-limits
    /// #137, "Gradient2 drifts"); a limiter that started under a load already past the knee would take
    /// that load's latency for the normal one. So the latency is measured by a probe: after the first
    /// 10 windows and then every `probe_interval` (30 s) while the limit is in control, the limit
    /// becomes half the calls in flight until the calls above it have finished, and the next window's
    /// average RTT, taken at half the load, becomes the long RTT and its ceiling until the next probe.
    /// An upstream that became slower for every call raises the ceiling at the next probe. A probe
    /// sheds (or queues) half the load for a few round trips each time. `probe_interval: off` never
    /// probes: the long RTT is then Netflix's average alone, and has no ceiling.
    private mutating func startProbeIfDue(inFlight: Int, now: Instant) -> Change? {
        guard configuration.algorithm == .gradient2, let due = nextProbe, now >= due else { return nil }
        let from = limit
        let halved = max(configuration.min, min(from, inFlight) / 2)
        guard halved < from else { return nil }
        probe = .draining(limit: halved, windows: 0)
        return Change(from: from, to: halved, shortRTT: shortRTT, longRTT: longRTT, reason: .probeStarted)
    }

    private mutating func advance(_ current: Probe, measured sample: Sample, now: Instant) -> Change? {
        switch current {
        case .draining(let limit, let windows):
            let drained = sample.inFlight <= limit || windows + 1 >= Self.maximumDrainingWindows
            probe = drained ? .measuring(limit: limit) : .draining(limit: limit, windows: windows + 1)
            return nil
        case .measuring(let limit):
            probe = nil
            nextProbe = configuration.probeInterval.map { now + $0 }
            let rtt = Double(max(sample.rtt.nanoseconds, 1_000))
            shortNanoseconds = rtt
            longNanoseconds = rtt
            probedNanoseconds = rtt
            guard self.limit != limit else { return nil }
            return Change(from: limit, to: self.limit, shortRTT: shortRTT, longRTT: longRTT, reason: .probeEnded)
        }
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
        if let ceiling = probedNanoseconds { longNanoseconds = min(longNanoseconds, ceiling) }
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
