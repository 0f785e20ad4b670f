extension GuardedCall {
    /// What an event decided: the action for the shell, and what else happened on the way.
    public struct Step: Sendable {
        public var action: Action
        public var effects: Effects

        public init(action: Action, effects: Effects = Effects()) {
            self.action = action
            self.effects = effects
        }
    }

    /// What the shell does next for this call.
    public enum Action: Sendable {
        /// Send one attempt (or, for an app-made call, hand the app its permit). Attempts sent before it
        /// and not yet reported stay out (hedging).
        case attempt(Attempt)
        /// Attempts are out (hedging): wait for them, each reported by number to `attemptFinished`; and
        /// if `hedgeAt` is given and comes first, tell the call `hedgeDue`.
        case awaitAttempts(hedgeAt: Instant?)
        /// Wait in the bulkhead queue for `ticket` until `until` at most; then `slotGranted` or
        /// `slotDenied`.
        case waitForSlot(Bulkhead.Ticket, until: Instant)
        /// Wait out the backoff until `until`; then `waitElapsed` (or `waitCancelled`).
        case wait(until: Instant)
        /// The call is over.
        case finish(Finish)
    }

    /// One attempt to send.
    public struct Attempt: Hashable, Sendable {
        /// 1 for the first attempt.
        public var number: Int
        /// The endpoint to send to; nil only for an app-made attempt at an upstream with no endpoints
        /// (the app knows where it goes, a database for example).
        public var endpoint: Int?
        /// The attempt's own limit: `min(timeouts.attempt, remaining)`.
        public var timeout: Duration
        /// The time left before the call's deadline, to propagate (`grpc-timeout`, `x-levee-timeout-ms`).
        public var remaining: Duration
        /// Whether this attempt is a hedge: sent while another attempt of the call is still out.
        public var isHedge: Bool = false
        /// When the shell tells the call `hedgeDue` if no attempt has answered by then; nil when no hedge
        /// may follow. A later step's `hedgeAt` replaces it.
        public var hedgeAt: Instant?
    }

    /// How the call ended.
    public struct Finish: Hashable, Sendable {
        public var outcome: CallOutcome
        public var cause: FinishCause
        /// Whether the upstream's fallback answers this outcome (`fallback.on`).
        public var fallback: Bool
        /// Attempts sent, hedges included.
        public var attempts: Int
        /// Hedges sent.
        public var hedges: Int = 0
        /// The number of the attempt whose result the call ended on (1 for the first; a hedge's number
        /// when a hedge won); nil when no attempt was made.
        public var decidingAttempt: Int?

        /// Whether callers further up should not retry this failure: the call retried as far as its
        /// policy allows (`max_attempts` reached after more than one attempt), wanted a retry the
        /// budget refused, or the upstream itself said not to retry. Retrying it again one tier up
        /// would multiply the retries of every tier below (gRFC A6 pushback; Finagle's non-retryable
        /// NACK): retries belong to one tier, the lowest.
        public var callersShouldNotRetry: Bool {
            guard outcome != .ok else { return false }
            switch cause {
            case .lastAttempt(_, stop: .retryPolicy(.attemptsExhausted)), .retryRefused(.attemptsExhausted):
                return attempts > 1
            case .lastAttempt(_, stop: .retryPolicy(.budgetExhausted)), .retryRefused(.budgetExhausted),
                .lastAttempt(_, stop: .retryPolicy(.serverPushback)):
                return true
            default:
                return false
            }
        }
    }

    /// Why the call ended as it did.
    public enum FinishCause: Hashable, Sendable {
        /// The deadline was spent before the call arrived: nothing was sent.
        case deadlineSpentOnArrival
        /// The breaker rejected the call.
        case breakerRejected(CircuitBreaker.Rejection)
        /// The bulkhead rejected the call at once.
        case bulkheadRejected(Bulkhead.Rejection)
        /// No slot freed within `waited` in the bulkhead queue (or the caller gave up waiting).
        case queueTimedOut(waited: Duration)
        /// The deadline passed while the call waited for its slot: nothing was sent.
        case deadlinePassedInQueue
        /// The upstream has no endpoint to call: nothing was sent.
        case noEndpoint
        /// An app's retry (`Acquire` with `attempt > 0`) was refused: `attemptsExhausted`, `deadline` or
        /// `budgetExhausted`.
        case retryRefused(RetryStopReason)
        /// The last attempt's result stands; `stop` says why no further attempt was made.
        case lastAttempt(AttemptReport, stop: Stop)
    }

    /// Why no further attempt followed the last one.
    public enum Stop: Hashable, Sendable {
        /// The retry policy said stop (`succeeded` when the answer is final).
        case retryPolicy(RetryStopReason)
        /// A retry was decided, and the breaker refused it.
        case breakerRefusedRetry(CircuitBreaker.Rejection)
        /// A retry was decided, and no endpoint was left to send it to.
        case noEndpointForRetry
        /// A retry was decided, and the deadline passed during its backoff.
        case deadlinePassedInBackoff
        /// The caller went away during the backoff.
        case cancelledInBackoff
        /// The app made the attempt and decides on retries itself.
        case appDecides
    }

    /// What happened besides the action, for the shell to log, count and gossip (outside its lock).
    public struct Effects: Hashable, Sendable {
        /// Breaker transitions this event caused, in order.
        public var transitions: [CircuitBreaker.Transition] = []
        /// An outlier ejection or restoration this event caused.
        public var outlierEvent: OutlierEvent?
        /// A queued call that got the bulkhead slot this call freed: the shell wakes it.
        public var slotHandedTo: Bulkhead.Ticket?
        /// Queued calls that got a slot because the adaptive limit rose: the shell wakes them.
        public var slotsOpenedTo: [Bulkhead.Ticket] = []
        /// The adaptive limit moved (`bulkhead.adaptive`): the shell logs it.
        public var limitChange: AdaptiveLimit.Change?
        /// An attempt ended and was recorded, after this long.
        public var attemptRecorded: Duration?
        /// What the retry budget did.
        public var retry: RetryBudgetEffect?
        /// What happened to hedges.
        public var hedges = HedgeEffects()

        public init() {}

        mutating func append(_ transition: CircuitBreaker.Transition?) {
            if let transition { transitions.append(transition) }
        }
    }

    /// What a step did to the retry budget.
    public enum RetryBudgetEffect: Hashable, Sendable {
        /// A retry was charged.
        case charged
        /// A retry was wanted and the budget had none left.
        case denied
        /// A retry charged earlier never went out, and was refunded.
        case refunded
    }
}

extension GuardedCall {
    /// What a step did with hedges: for `levee_hedges_total{upstream,result}`.
    public struct HedgeEffects: Hashable, Sendable {
        /// A hedge went out (charged to the retry budget).
        public var sent = 0
        /// A hedge's answer won the call.
        public var won = 0
        /// Hedges abandoned because another attempt won.
        public var lost = 0
        /// A hedge failed.
        public var failed = 0
        /// A hedge was due and not sent, and why.
        public var skipped: HedgeSkip?

        public init() {}

        public var isEmpty: Bool { self == HedgeEffects() }
    }

    /// Why a hedge that was due did not go out.
    public enum HedgeSkip: String, CaseIterable, Hashable, Sendable {
        /// The retry budget had nothing left: hedges and retries share it.
        case budgetExhausted = "budget_exhausted"
        /// The breaker is not closed.
        case breakerNotClosed = "breaker_not_closed"
        /// No endpoint other than those the call's attempts are out to.
        case noOtherEndpoint = "no_other_endpoint"
        /// Too little time is left before the deadline.
        case deadline
    }
}

/// An event `GuardedCall` did not expect in its state: a bug in the shell that drives it.
public struct GuardedCallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The event.
    public var event: String
    /// The state the call was in.
    public var state: String

    public var description: String {
        "GuardedCall: \(event) is not expected while \(state)"
    }
}
