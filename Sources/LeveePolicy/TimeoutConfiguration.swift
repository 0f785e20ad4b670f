/// How long an upstream's calls may take: the `timeouts` section (DESIGN.md, "Deadlines").
///
/// A call's effective deadline is the earliest of the app's `timeout_ms`, the gRPC deadline of the
/// Guard call itself and `total`; each attempt gets `min(attempt, remaining)`.
///
/// A configuration file that sets some of the keys gets the others from `defaultConnect(attempt:total:)`,
/// `defaultAttempt(connect:total:)` and `defaultTotal(connect:attempt:queueTimeout:)`: the defaults
/// below, moved just enough to keep `connect ≤ attempt ≤ total` with the keys it sets.
public struct TimeoutConfiguration: Hashable, Sendable {
    /// The longest wait for a connection to an endpoint (`connect`, default 1 s, or less when a file
    /// sets a shorter `attempt` or `total`).
    public var connect: Duration
    /// The longest one attempt may take, connect included (`attempt`, default 2 s, moved into
    /// `connect...total` when a file sets either).
    public var attempt: Duration
    /// The longest the whole call may take, retries and backoff included (`total`, default 5 s, or more
    /// when a file sets a longer `connect`, `attempt` or `bulkhead.queue_timeout`).
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

    /// Whether `validate()` accepts `value` as any of the three timeouts.
    @inlinable
    public static func accepts(_ value: Duration) -> Bool {
        value > .zero && value <= maximum
    }

    /// Throws naming the first bad key (`connect`, `attempt`, `total`) and its value.
    ///
    /// `connect ≤ total` follows from the other two rules; it is checked between them so that a file
    /// setting `connect` and `total` but not `attempt` hears about the two keys it wrote.
    public func validate() throws(ConfigurationError) {
        for (key, value) in [("connect", connect), ("attempt", attempt), ("total", total)] {
            try ConfigurationError.require(
                Self.accepts(value),
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
            connect <= total,
            "connect",
            connect.configDescription,
            expected: "at most timeouts.total (\(total.configDescription)): the connect is part of the call"
        )
        try ConfigurationError.require(
            attempt <= total,
            "attempt",
            attempt.configDescription,
            expected: "at most timeouts.total (\(total.configDescription)): an attempt is part of the call"
        )
    }
}

extension TimeoutConfiguration {
    // The timeouts a configuration file leaves unset. Each argument is the value the file sets for that
    // key, nil when it sets none; a value `validate()` refuses is not followed, so that the error names
    // it rather than the key that would have followed it. A file that sets none gets `defaults`.

    /// `connect` when the file does not set it: 1 s, or the shorter of `attempt` and `total` when that
    /// is shorter, so that `timeouts: { attempt: 500ms }` is a valid file.
    public static func defaultConnect(attempt: Duration?, total: Duration?) -> Duration {
        var connect = defaults.connect
        if let attempt, accepts(attempt) { connect = min(connect, attempt) }
        if let total, accepts(total) { connect = min(connect, total) }
        return connect
    }

    /// `attempt` when the file does not set it: 2 s, but no longer than `total` and no shorter than
    /// `connect`, so that `timeouts: { total: 1s }` is one-second attempts within a one-second call. When
    /// `connect` is longer than `total` it wins, and `validate()` names `connect` against `total`.
    public static func defaultAttempt(connect: Duration?, total: Duration?) -> Duration {
        var attempt = defaults.attempt
        if let total, accepts(total) { attempt = min(attempt, total) }
        if let connect, accepts(connect) { attempt = max(attempt, connect) }
        return attempt
    }

    /// `total` when the file does not set it: 5 s, or the longest of `connect`, `attempt` and the
    /// upstream's `bulkhead.queue_timeout` when that is longer, since each of them is part of the call
    /// (`UpstreamPolicyConfiguration.validate()` holds the queue wait to the total).
    public static func defaultTotal(connect: Duration?, attempt: Duration?, queueTimeout: Duration?) -> Duration {
        var total = defaults.total
        for value in [connect, attempt, queueTimeout] {
            if let value, accepts(value) { total = max(total, value) }
        }
        return total
    }
}
