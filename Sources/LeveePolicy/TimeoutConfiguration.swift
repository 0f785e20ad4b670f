/// How long an upstream's calls may take: the `timeouts` section (DESIGN.md, "Deadlines").
///
/// A call's effective deadline is the earliest of the app's `timeout_ms`, the gRPC deadline of the
/// Guard call itself and `total`; each attempt gets `min(attempt, remaining)`.
public struct TimeoutConfiguration: Hashable, Sendable {
    /// The longest wait for a connection to an endpoint (`connect`, default 1 s).
    public var connect: Duration
    /// The longest one attempt may take, connect included (`attempt`, default 2 s).
    public var attempt: Duration
    /// The longest the whole call may take, retries and backoff included (`total`, default 5 s).
    public var total: Duration

    public init(connect: Duration = .seconds(1), attempt: Duration = .seconds(2), total: Duration = .seconds(5)) {
        self.connect = connect
        self.attempt = attempt
        self.total = total
    }

    /// `{ connect: 1s, attempt: 2s, total: 5s }`, as in DESIGN.md's example.
    public static let defaults = TimeoutConfiguration()

    /// The longest timeout accepted: one day (a sidecar call that may take longer is a bug).
    public static let maximum = Duration.seconds(86_400)

    /// The deadline of a call that starts at `now` with the app's own limit `requested` (nil: none).
    @inlinable
    public func deadline(requested: Duration?, now: Instant) -> Deadline {
        Deadline.after(total, from: now).earliest(Deadline.after(requested, from: now))
    }

    /// Throws naming the first bad key (`connect`, `attempt`, `total`) and its value.
    public func validate() throws(ConfigurationError) {
        for (key, value) in [("connect", connect), ("attempt", attempt), ("total", total)] {
            try ConfigurationError.require(
                value > .zero && value <= Self.maximum,
                key,
                value.configDescription,
                expected: "a duration above 0 and at most 24h (e.g. 250ms, 2s)"
            )
        }
        try ConfigurationError.require(
            connect <= attempt,
            "connect",
            connect.configDescription,
            expected: "at most timeouts.attempt (\(attempt.configDescription)): the connect is part of an attempt"
        )
        try ConfigurationError.require(
            attempt <= total,
            "attempt",
            attempt.configDescription,
            expected: "at most timeouts.total (\(total.configDescription)): an attempt is part of the call"
        )
    }
}
