/// One guarded call's whole flow as a value: deadline, admission (breaker, then bulkhead), endpoint
/// choice, each attempt's timeout and the time left to propagate, outcome recording, the retry decision
/// with backoff and budget, and the fallback decision (DESIGN.md "Policy semantics").
///
/// Events go in, each with its `now` and the upstream's shared `UpstreamPolicyState`; a `Step` comes
/// out: the `Action` for the shell to carry out, and the `Effects` for it to log, count and gossip. In
/// the manner of grpc-swift's `GRPCStreamStateMachine`, the state is an enum and an event the state
/// does not expect is a typed error, never a silent mistake:
///
/// ```swift
/// var call = GuardedCall(policy: policy, request: request, now: clock.now())
/// var step = try lock.withLock { try call.start(now: clock.now(), upstream: &$0, using: &rng) }
/// while true {
///     switch step.action {
///     case .attempt(let attempt):
///         let report = await send(to: attempt.endpoint, timeout: attempt.timeout, remaining: attempt.remaining)
///         step = try lock.withLock { try call.attemptFinished(report, now: clock.now(), upstream: &$0, using: &rng) }
///     case .wait(let until):
///         await clock.sleep(until: until)
///         step = try lock.withLock { try call.waitElapsed(now: clock.now(), upstream: &$0, using: &rng) }
///     case .waitForSlot(let ticket, let until):
///         let granted = await queue.wait(for: ticket, until: until)
///         step = try lock.withLock { $0 in granted ? … slotGranted … : … slotDenied … }
///     case .finish(let finish):
///         return finish
///     }
/// }
/// ```
///
/// With `hedge` configured, an idempotent call may have several attempts out at once: the `.attempt`
/// action carries `hedgeAt`, the instant at which the shell, if no attempt has answered, tells the call
/// `hedgeDue`; that sends a hedge to another endpoint (charged to the retry budget, only while the
/// breaker is closed) or declines to. The shell then reports each attempt's end with its number; the
/// first answer that is not a failure wins, the call finishes on it, and the shell abandons the others
/// (their permits are given back here, unrecorded: a cancelled attempt says nothing about the
/// upstream). A failed attempt while others are out leaves the call waiting for them
/// (`.awaitAttempts`).
///
/// The rules it keeps, each checked by `GuardedCallPropertyTests`:
/// - at most `max_attempts` attempts plus `hedge.max` hedges, and an attempt or a wait never starts
///   past the deadline;
/// - a non-idempotent request that reached the upstream is never sent again, and never hedged;
/// - the retry budget is charged once for each retry and each hedge that goes out (a retry decided but
///   not sent, say because the breaker refused it, is refunded);
/// - every breaker permit and bulkhead slot it takes is given back exactly once;
/// - every call finishes.
///
/// Every front door drives one: the Guard API's `Call`, and `Acquire`/`Release`, where the app makes
/// the attempt and reports it as one `attemptFinished`.
public struct GuardedCall: Sendable {
    /// What the call is allowed, from the upstream's policy. One value per upstream, shared by its calls.
    public struct Policy: Sendable {
        public var timeouts: TimeoutConfiguration
        public var retry: RetryPolicy
        public var classifier: OutcomeClassifier
        /// The outcomes the upstream answers with a fallback (`fallback.on`), when it has one.
        public var fallbackOn: Set<CallOutcome>
        /// Hedged requests (`hedge`), when the upstream hedges.
        public var hedge: HedgeConfiguration?

        public init(
            timeouts: TimeoutConfiguration = .defaults,
            retry: RetryPolicy = RetryPolicy(),
            classifier: OutcomeClassifier = OutcomeClassifier(),
            fallbackOn: Set<CallOutcome> = [],
            hedge: HedgeConfiguration? = nil
        ) {
            self.timeouts = timeouts
            self.retry = retry
            self.classifier = classifier
            self.fallbackOn = fallbackOn
            self.hedge = hedge
        }
    }

    /// Who makes the attempts.
    public enum Maker: Hashable, Sendable {
        /// The agent sends each attempt and retries on its own (`Call`).
        case agent
        /// The app makes one attempt itself (`Acquire`/`Release`); `retry` is 0 for a first attempt and
        /// n > 0 for retry n, which is checked against `max_attempts`, the deadline and the budget.
        case app(retry: Int)
    }

    /// What the app asked for besides the request itself.
    public struct Request: Hashable, Sendable {
        public var priority: Priority
        /// Whether the request may be sent again after it reached the upstream (`RequestIdempotency`).
        public var isIdempotent: Bool
        /// The app's own timeout (`timeout_ms`), if any.
        public var timeout: Duration?
        /// The deadline of the front door's own request (the Guard RPC's `grpc-timeout`), if any.
        public var frontDeadline: Deadline
        public var maker: Maker

        public init(
            priority: Priority = .normal,
            isIdempotent: Bool,
            timeout: Duration? = nil,
            frontDeadline: Deadline = .none,
            maker: Maker = .agent
        ) {
            self.priority = priority
            self.isIdempotent = isIdempotent
            self.timeout = timeout
            self.frontDeadline = frontDeadline
            self.maker = maker
        }
    }

    let policy: Policy
    let request: Request
    /// The earliest of the app's timeout, the front door's deadline and `timeouts.total` (DESIGN.md
    /// "Deadlines").
    public let deadline: Deadline
    /// When the call arrived.
    public let startedAt: Instant
    /// Attempts sent so far, hedges included; for an app's retry n, the n attempts it made before count
    /// too.
    public internal(set) var attempts = 0
    /// Hedges sent so far.
    public internal(set) var hedges = 0
    /// The number of the attempt whose result the call ended on, once there is one.
    public internal(set) var decidingAttempt: Int?
    /// For an app's retry (`Maker.app(retry:)`): how long the app must wait before it makes the attempt.
    public internal(set) var appRetryDelay: Duration = .zero
    /// The endpoint of the last attempt, if it had one.
    public internal(set) var lastEndpoint: Int?

    var state: State
    /// The shell's p95 of the upstream's recent latency, given at `start` (`hedge.delay: p95`).
    var recentP95: Duration?
    var backoff: Backoff
    var avoiding = EndpointSet()
    /// Whether the call holds a bulkhead slot now.
    var holdsSlot = false
    /// Whether a retry was charged to the budget and has not gone out yet.
    var retryCharged = false
    /// The last attempt's report, once there is one.
    var last: AttemptReport?

    enum State: Sendable {
        /// Made, not started.
        case idle
        /// Admitted by the breaker, waiting in the bulkhead queue.
        case queued(CircuitBreaker.Permit, Bulkhead.Ticket, queueDeadline: Instant)
        /// One attempt is out, or more when hedging.
        case attempting(AttemptsInFlight)
        /// Waiting out the backoff before a retry.
        case waiting(until: Instant)
        case finished
    }

    struct AttemptInFlight: Sendable {
        var number: Int
        var isHedge: Bool
        var permit: CircuitBreaker.Permit
        var endpoint: Int?
        var endpointGeneration: UInt64
        var startedAt: Instant
        /// Calls holding a bulkhead slot when the attempt went out, for the adaptive limit.
        var inFlight: Int
    }

    /// The attempts out at once: the first inline, so that a call that does not hedge allocates nothing
    /// for them.
    struct AttemptsInFlight: Sendable {
        var first: AttemptInFlight
        var more: [AttemptInFlight] = []
        /// When a hedge is due, if one may still follow.
        var hedgeAt: Instant?

        var count: Int { 1 + more.count }

        /// Takes out attempt `number` (the only one, when nil); nil if it is not out. Returns the rest,
        /// or nil when none is left.
        func removing(_ number: Int?) -> (removed: AttemptInFlight, rest: AttemptsInFlight?)? {
            guard let number else {
                return more.isEmpty ? (first, nil) : nil
            }
            if first.number == number {
                guard !more.isEmpty else { return (first, nil) }
                var rest = self
                rest.first = rest.more.removeFirst()
                return (first, rest)
            }
            guard let index = more.firstIndex(where: { $0.number == number }) else { return nil }
            var rest = self
            let removed = rest.more.remove(at: index)
            return (removed, rest)
        }

        var all: [AttemptInFlight] { [first] + more }
    }

    /// A call arriving at `now`.
    public init(policy: Policy, request: Request, now: Instant) {
        self.policy = policy
        self.request = request
        self.startedAt = now
        self.deadline = policy.timeouts.deadline(requested: request.timeout, now: now).earliest(request.frontDeadline)
        self.backoff = policy.retry.makeBackoff()
        self.state = .idle
    }
}
