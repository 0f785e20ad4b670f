public import LeveeConfiguration
public import LeveePolicy

/// What `Acquire` asks for: a permit for one attempt the app makes itself.
public struct PermitRequest: Sendable {
    public var priority: Priority
    /// The app's limit for waiting and retrying; nil: the upstream's `timeouts.total`.
    public var timeout: Duration?
    /// The deadline of the front door's own request (the Guard RPC's `grpc-timeout`).
    public var frontDeadline: Deadline
    /// 0 for a first attempt; n asks to make retry n.
    public var retry: Int
    /// How long the permit stays valid; nil: the upstream's `timeouts.attempt`.
    public var lease: Duration?

    public init(
        priority: Priority = .normal,
        timeout: Duration? = nil,
        frontDeadline: Deadline = .none,
        retry: Int = 0,
        lease: Duration? = nil
    ) {
        self.priority = priority
        self.timeout = timeout
        self.frontDeadline = frontDeadline
        self.retry = retry
        self.lease = lease
    }
}

/// The answer to `Acquire`.
public enum PermitDecision: Sendable {
    case granted(PermitGrant)
    case denied(PermitDenial)
}

/// A permit handed out: valid until `Release` or the end of its lease.
public struct PermitGrant: Sendable {
    /// `upstream/random`: what `Release` names.
    public var id: String
    /// The endpoint the agent picked for the attempt, when the upstream has endpoints.
    public var endpoint: EndpointAddress?
    /// For a retry: the wait before making it.
    public var backoff: Duration
    /// How long the permit is valid, the backoff included.
    public var lease: Duration
}

/// Why `Acquire` said no.
public struct PermitDenial: Sendable {
    public enum Reason: Hashable, Sendable {
        case circuitOpen
        case bulkheadFull
        case retryBudgetExhausted
        case deadline
        case maxAttempts
    }

    public var reason: Reason
    /// With `circuitOpen`: when the breaker lets a probe through.
    public var retryAfter: Duration?
    public var detail: String
}

/// How an app says its permitted attempt went (`Release`).
public enum PermitResult: Hashable, Sendable {
    case success
    case failure
    case timeout
    /// Nothing to say about the upstream (the app gave up, say): the breaker does not count it.
    case ignored

    var outcome: AttemptOutcome {
        switch self {
        case .success: .success
        case .failure: .failure(.reset)
        case .timeout: .failure(.timeout)
        case .ignored: .ignored
        }
    }
}
