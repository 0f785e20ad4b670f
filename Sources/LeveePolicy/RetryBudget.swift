/// The retries an upstream may still take: Finagle's `RetryBudget` (a `TokenRetryBudget` over a
/// `LeakyTokenBucket`), which Linkerd also uses.
///
/// Each original request deposits 1000 tokens; each retry withdraws ⌊1000/ratio⌋, so about `ratio`
/// retries are allowed per request. Deposits and withdrawals both expire after `ttl`: they are kept in
/// two rings of 10 slices of `ttl/10` each (Finagle's `WindowedAdder`), so an entry counts for between
/// 0.9·ttl and ttl.
///
/// `min_per_second` is a floor, not an addition: a retry is allowed while the withdrawals of the window
/// stay within the larger of the deposits and the reserve of `minPerSecond·ttl·cost` tokens. So a quiet
/// upstream can still be retried `minPerSecond·ttl` times per window (with the defaults a budget starts at
/// a balance of 100), and a busy one `ratio` times per request, not `ratio` plus the floor. Finagle's
/// `TokenRetryBudget` adds its reserve to the deposits, which lets each hop of a chain of services
/// retry `ratio` of its calls plus the floor's rate: at 100 calls a second and the defaults, 0.3 of them
/// instead of 0.2. The floor is what Envoy's `min_retry_concurrency` is to its `budget_percent`: the
/// limit "may never go below" it.
///
/// Integer tokens keep every operation exact; the rings are stored inline, so `deposit(now:)`,
/// `tryWithdraw(now:)` and `balance(now:)` allocate nothing and cost a few additions (plus clearing at
/// most 10 slots of each ring when time has moved on).
///
/// DESIGN.md "Retries": the budget is charged when the retry is decided (`RetryPolicy.decide` does the
/// withdrawal), so retries waiting in backoff count against it.
public struct RetryBudget: Sendable {
    /// The configuration the budget follows.
    public let configuration: RetryBudgetConfiguration

    /// Tokens one original request adds: 1000 (Finagle's `ScaleFactor`), or 0 when `ratio` is 0 (then
    /// only the reserve can pay for retries).
    public let depositAmount: Int64
    /// Tokens one retry costs: ⌊1000/ratio⌋, or 1 when `ratio` is 0 (Finagle `RetryBudget.apply`).
    public let withdrawalAmount: Int64
    /// The floor under the deposits: `minPerSecond·ttl·withdrawalAmount` tokens (ttl in milliseconds
    /// here, where Finagle truncates it to whole seconds).
    public let reserve: Int64

    @usableFromInline
    static let sliceCount: Int64 = 10

    @usableFromInline
    let sliceNanoseconds: Int64

    /// Tokens deposited per slice.
    @usableFromInline
    var deposited = FixedWords()
    /// Tokens withdrawn per slice (net of refunds).
    @usableFromInline
    var withdrawn = FixedWords()
    /// The sums of `deposited` and `withdrawn`.
    @usableFromInline
    var depositedTotal: Int64 = 0
    @usableFromInline
    var withdrawnTotal: Int64 = 0
    /// The number of the slice `now` fell in at the last event (`now / sliceNanoseconds`), or `.min`
    /// before the first event.
    @usableFromInline
    var currentSlice: Int64 = .min

    /// A budget with no deposits yet: only the floor is available.
    public init(configuration: RetryBudgetConfiguration = .defaults) {
        self.configuration = configuration
        let ratio = configuration.ratio.isFinite ? Swift.max(0, configuration.ratio) : 0
        if ratio == 0 {
            depositAmount = 0
            withdrawalAmount = 1
        } else {
            depositAmount = 1000
            withdrawalAmount = Swift.max(1, Int64(Swift.min(1000 / ratio, Double(Int32.max))))
        }
        let ttlNanoseconds = Swift.max(configuration.ttl.nanoseconds, Self.sliceCount)
        sliceNanoseconds = ttlNanoseconds / Self.sliceCount
        let ttlMilliseconds = ttlNanoseconds / 1_000_000
        let perSecond = Int64(Swift.max(0, configuration.minPerSecond))
        let (scaled, overflow) = (perSecond * ttlMilliseconds).multipliedReportingOverflow(by: withdrawalAmount)
        reserve = overflow ? Int64.max / 4 : scaled / 1000
    }

    /// Records one original request: it earns the upstream `ratio` of a retry.
    @inlinable
    public mutating func deposit(now: Instant) {
        advance(to: now)
        add(depositAmount, to: &deposited, total: &depositedTotal)
    }

    /// Takes one retry's worth of tokens if the budget has it; returns whether it did.
    @inlinable
    public mutating func tryWithdraw(now: Instant) -> Bool {
        advance(to: now)
        guard
            Self.available(deposited: depositedTotal, withdrawn: withdrawnTotal, reserve: reserve)
                >= withdrawalAmount
        else { return false }
        add(withdrawalAmount, to: &withdrawn, total: &withdrawnTotal)
        return true
    }

    /// Gives back one withdrawal: a retry was decided (and charged) but never went out, because the
    /// breaker refused it, the deadline passed during its backoff or the caller went away. The budget
    /// limits retries sent to the upstream, so one that was not sent costs nothing.
    @inlinable
    public mutating func refund(now: Instant) {
        advance(to: now)
        add(-withdrawalAmount, to: &withdrawn, total: &withdrawnTotal)
    }

    /// The number of retries the budget would allow now (Finagle's `balance`: tokens / cost, never
    /// negative). Does not change the budget.
    @inlinable
    public func balance(now: Instant) -> Int {
        let tokens = Self.available(
            deposited: liveTotal(of: deposited, total: depositedTotal, at: now),
            withdrawn: liveTotal(of: withdrawn, total: withdrawnTotal, at: now),
            reserve: reserve
        )
        return Int(Swift.max(0, tokens / withdrawalAmount))
    }

    /// Tokens a retry may still take: the larger of the deposits and the floor, less the withdrawals.
    @inlinable
    static func available(deposited: Int64, withdrawn: Int64, reserve: Int64) -> Int64 {
        Swift.max(deposited, reserve) &- withdrawn
    }

    @inlinable
    func sliceNumber(of now: Instant) -> Int64 {
        now.nanoseconds / sliceNanoseconds
    }

    @inlinable
    static func slot(of slice: Int64) -> Int {
        let remainder = slice % sliceCount
        return Int(remainder < 0 ? remainder + sliceCount : remainder)
    }

    @inlinable
    func add(_ tokens: Int64, to ring: inout FixedWords, total: inout Int64) {
        let slot = Self.slot(of: currentSlice)
        ring[slot] = UInt64(bitPattern: Int64(bitPattern: ring[slot]) &+ tokens)
        total &+= tokens
    }

    /// Moves the rings on to `now`'s slice, expiring the slices that have left the window. Time that goes
    /// backwards (a shell's clock read racing another's) stays in the current slice.
    @inlinable
    mutating func advance(to now: Instant) {
        let slice = sliceNumber(of: now)
        guard currentSlice != .min else {
            currentSlice = slice
            return
        }
        let gap = slice &- currentSlice
        guard gap > 0 else { return }
        if gap >= Self.sliceCount {
            deposited = FixedWords()
            withdrawn = FixedWords()
            depositedTotal = 0
            withdrawnTotal = 0
        } else {
            for step in 1...gap {
                let slot = Self.slot(of: currentSlice &+ step)
                depositedTotal &-= Int64(bitPattern: deposited[slot])
                withdrawnTotal &-= Int64(bitPattern: withdrawn[slot])
                deposited[slot] = 0
                withdrawn[slot] = 0
            }
        }
        currentSlice = slice
    }

    /// The sum of a ring's slices that are still in the window at `now`, without moving the ring.
    @inlinable
    func liveTotal(of ring: FixedWords, total: Int64, at now: Instant) -> Int64 {
        guard currentSlice != .min else { return 0 }
        let gap = sliceNumber(of: now) &- currentSlice
        if gap <= 0 { return total }
        if gap >= Self.sliceCount { return 0 }
        var sum: Int64 = 0
        for age in 0..<(Self.sliceCount - gap) {
            sum &+= Int64(bitPattern: ring[Self.slot(of: currentSlice &- age)])
        }
        return sum
    }
}
