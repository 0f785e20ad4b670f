extension CircuitBreaker {
    /// What the breaker holds at one instant, for the admin API, `Watch` and the metrics.
    public struct Snapshot: Hashable, Sendable {
        /// The state.
        public var state: State
        /// The outcomes in the window. The window is cleared when the breaker closes after HALF_OPEN
        /// and on reset; while OPEN and HALF_OPEN it keeps the outcomes that tripped it.
        public var window: Tally
        /// The failure rate over the window, in percent (0 when the window is empty).
        public var failureRate: Double
        /// The slow-call rate over the window, in percent (0 when the window is empty).
        public var slowCallRate: Double
        /// The open time of the current open period while OPEN, of the last one while HALF_OPEN (a
        /// failed verdict doubles it), and `open_for` otherwise.
        public var openDuration: Duration
        /// While OPEN, the first instant at which an acquire becomes a probe; `nil` otherwise.
        public var nextTransitionTime: Instant?
        /// While HALF_OPEN, the probes admitted and not yet reported or released.
        public var probesInFlight: Int
        /// While HALF_OPEN, the probe outcomes reported so far.
        public var probes: Tally

        /// The calls in the window.
        public var calls: Int { window.calls }
        /// The failures in the window.
        public var failures: Int { window.failures }
        /// The slow calls in the window.
        public var slowCalls: Int { window.slowCalls }
    }
}
