extension CircuitBreaker {
    /// The right to make one attempt, handed out by `tryAcquire(now:)` and handed back to
    /// `record(_:for:duration:now:)` or `release(_:)`.
    ///
    /// The generation is what keeps late results harmless: every transition starts a new generation,
    /// and a result whose permit belongs to an older one changes nothing. A call admitted while CLOSED
    /// that fails after the breaker opened cannot extend the open time or trip it again, and one that
    /// finishes while HALF_OPEN cannot pass for a probe. (resilience4j and Polly record such results
    /// but never let them change state; with a generation there is nothing to check beyond one compare.)
    public struct Permit: Hashable, Sendable {
        /// The generation of the breaker when the permit was issued.
        public let generation: UInt64
        /// Whether this permit is a HALF_OPEN probe, whose outcome is part of the verdict.
        public let isProbe: Bool

        init(generation: UInt64, isProbe: Bool) {
            self.generation = generation
            self.isProbe = isProbe
        }
    }

    /// What `tryAcquire(now:)` decided.
    public enum Admission: Hashable, Sendable {
        /// Go ahead; report the outcome with the permit. When this acquire was the first after the
        /// open time, it moved the breaker to HALF_OPEN and `transition` says so.
        case admitted(Permit, transition: Transition?)
        /// Do not call the upstream.
        case rejected(Rejection)

        /// The permit, when admitted.
        public var permit: Permit? {
            if case .admitted(let permit, _) = self { return permit }
            return nil
        }

        /// The rejection, when rejected.
        public var rejection: Rejection? {
            if case .rejected(let rejection) = self { return rejection }
            return nil
        }

        /// The transition this acquire caused, if any (only OPEN → HALF_OPEN).
        public var transition: Transition? {
            if case .admitted(_, let transition) = self { return transition }
            return nil
        }
    }

    /// Why a call was not let through, and when trying again makes sense.
    public enum Rejection: Hashable, Sendable {
        /// The breaker is OPEN. `retryAfter` (> 0) is the time until the first instant at which an
        /// acquire becomes a probe; the agent sends it as `retry_after_ms`, rounded up.
        case open(retryAfter: Duration)
        /// The breaker is HALF_OPEN and all of its probes are out. When the breaker will admit again
        /// depends on the probes' verdict, so no wait is given (`retryAfter` is `nil`): a failed verdict
        /// re-opens it for a longer time, a passed one closes it.
        case probesInFlight
        /// An operator forced the breaker open; it stays open until the override is lifted, so no
        /// wait is given.
        case forcedOpen

        /// The wait that makes sense before trying again, when one is known.
        public var retryAfter: Duration? {
            if case .open(let retryAfter) = self { return retryAfter }
            return nil
        }
    }

    /// The operator overrides (`levee breaker force open|closed`).
    public enum Override: Hashable, Sendable {
        /// FORCED_OPEN: reject everything.
        case open
        /// FORCED_CLOSED: admit everything and record it, never trip.
        case closed
    }
}
