extension CircuitBreaker {
    /// How many calls, failures and slow calls a stretch of outcomes holds.
    public struct Tally: Hashable, Sendable {
        /// Outcomes recorded (successes and failures; ignored outcomes are never recorded).
        public var calls: Int
        /// Outcomes that were failures.
        public var failures: Int
        /// Outcomes that took longer than `slow_call.duration`, failed or not (resilience4j counts slow
        /// failures as both, so that a timeout-heavy upstream trips on either rule).
        public var slowCalls: Int

        public init(calls: Int = 0, failures: Int = 0, slowCalls: Int = 0) {
            self.calls = calls
            self.failures = failures
            self.slowCalls = slowCalls
        }

        public static let zero = Tally()

        mutating func add(isFailure: Bool, isSlow: Bool) {
            calls += 1
            if isFailure { failures += 1 }
            if isSlow { slowCalls += 1 }
        }
    }
}

/// The outcomes a circuit breaker judges: a ring of fixed-size buckets allocated once at init.
///
/// One type serves both kinds of window so that the breaker holds it in a plain stored property: an
/// enum with a payload per kind would have to copy the payload out to mutate it, and the copy would
/// make the ring's storage non-unique, so every record would reallocate it (the reason
/// grpc-swift-nio-transport's state machines park their state in `_modifying` while they mutate it).
///
/// - A count window has one bucket per outcome; `head` is the slot the next outcome overwrites.
/// - A time window has one bucket per `bucketNanos` of time; `head` is the bucket of `newestEpoch`, and
///   moving to a later epoch clears the buckets it skips, so the steady state never allocates.
struct OutcomeWindow: Sendable {
    /// One bucket. 32-bit counters keep a 100 000-outcome ring at 1.2 MB; a time bucket would need
    /// more than 2^31 outcomes in one bucket to overflow, far beyond what one agent sends.
    struct Bucket: Sendable {
        var calls: Int32 = 0
        var failures: Int32 = 0
        var slowCalls: Int32 = 0

        static let empty = Bucket()
    }

    private var buckets: ContiguousArray<Bucket>
    /// 0 for a count window, else the length of one bucket in nanoseconds.
    private let bucketNanos: Int64
    /// Count window: the slot the next outcome goes to. Time window: the slot of `newestEpoch`.
    private var head: Int
    /// Count window only: how many slots hold an outcome (the ring fills before it wraps).
    private var filled: Int
    /// Time window only: the bucket number (`now / bucketNanos`, rounded down) of the newest bucket, or
    /// `nil` while nothing was recorded since the window was made or cleared.
    private var newestEpoch: Int64?
    /// The sum over all live buckets, kept up to date so the trip rule reads it in O(1).
    private(set) var totals: CircuitBreaker.Tally

    init(_ window: CircuitBreakerConfiguration.Window) {
        switch window {
        case .count(let size):
            buckets = ContiguousArray(repeating: .empty, count: size)
            bucketNanos = 0
        case .time(let size, let bucket):
            let nanos = bucket.nanoseconds
            buckets = ContiguousArray(repeating: .empty, count: Int(size.nanoseconds / nanos))
            bucketNanos = nanos
        }
        head = 0
        filled = 0
        newestEpoch = nil
        totals = .zero
    }

    /// The most outcomes a count window holds, or the number of buckets of a time window.
    var capacity: Int { buckets.count }

    var isTimeBased: Bool { bucketNanos != 0 }

    /// Adds one outcome that finished at `now`.
    mutating func record(isFailure: Bool, isSlow: Bool, now: Instant) {
        if bucketNanos == 0 {
            if filled == buckets.count {
                subtract(buckets[head])
            } else {
                filled += 1
            }
            var bucket = Bucket.empty
            bucket.calls = 1
            bucket.failures = isFailure ? 1 : 0
            bucket.slowCalls = isSlow ? 1 : 0
            buckets[head] = bucket
            head += 1
            if head == buckets.count { head = 0 }
        } else {
            let epoch = Self.epoch(of: now, bucketNanos: bucketNanos)
            advance(to: epoch)
            // An outcome may arrive with a `now` a little older than the newest bucket (the shell read
            // its clock before it took the lock): it goes to its own bucket while that is still live.
            let age = newestEpoch! &- epoch
            guard age < Int64(buckets.count) else { return }
            var index = head - Int(age)
            if index < 0 { index += buckets.count }
            buckets[index].calls += 1
            if isFailure { buckets[index].failures += 1 }
            if isSlow { buckets[index].slowCalls += 1 }
        }
        totals.add(isFailure: isFailure, isSlow: isSlow)
    }

    /// Forgets every outcome. Runs on transitions only; it touches every bucket of a time window but
    /// allocates nothing.
    mutating func removeAll() {
        if bucketNanos != 0 {
            for index in buckets.indices { buckets[index] = .empty }
        }
        head = 0
        filled = 0
        newestEpoch = nil
        totals = .zero
    }

    /// The outcomes the window would hold at `now`, without evicting anything: a count window ignores
    /// `now`; a time window leaves out the buckets that `now` has pushed out.
    func tally(at now: Instant) -> CircuitBreaker.Tally {
        guard bucketNanos != 0, let newest = newestEpoch else { return totals }
        let steps = Self.epoch(of: now, bucketNanos: bucketNanos) &- newest
        guard steps > 0 else { return totals }
        guard steps < Int64(buckets.count) else { return .zero }
        var result = totals
        var index = head
        for _ in 0..<Int(steps) {
            index += 1
            if index == buckets.count { index = 0 }
            result.calls -= Int(buckets[index].calls)
            result.failures -= Int(buckets[index].failures)
            result.slowCalls -= Int(buckets[index].slowCalls)
        }
        return result
    }

    /// Moves a time window's newest bucket forward to `epoch`, clearing the buckets in between.
    private mutating func advance(to epoch: Int64) {
        guard let newest = newestEpoch else {
            newestEpoch = epoch
            return
        }
        let steps = epoch &- newest
        guard steps > 0 else { return }
        if steps >= Int64(buckets.count) {
            for index in buckets.indices { buckets[index] = .empty }
            totals = .zero
        } else {
            for _ in 0..<Int(steps) {
                head += 1
                if head == buckets.count { head = 0 }
                subtract(buckets[head])
                buckets[head] = .empty
            }
        }
        newestEpoch = epoch
    }

    private mutating func subtract(_ bucket: Bucket) {
        totals.calls -= Int(bucket.calls)
        totals.failures -= Int(bucket.failures)
        totals.slowCalls -= Int(bucket.slowCalls)
    }

    /// The number of the bucket `instant` falls in, rounding toward the past for instants before the
    /// origin so that every bucket has the same length.
    private static func epoch(of instant: Instant, bucketNanos: Int64) -> Int64 {
        let (quotient, remainder) = instant.nanoseconds.quotientAndRemainder(dividingBy: bucketNanos)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
