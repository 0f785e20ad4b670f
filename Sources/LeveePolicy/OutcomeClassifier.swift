/// Turns what an attempt produced (an HTTP status, a gRPC status code, a transport failure) into the
/// `AttemptOutcome` the breaker, the outlier detector and the retry decision consume.
///
/// The configured lists are compiled at init into a 640-bit HTTP status map and 17-bit gRPC code masks,
/// so each classification is a couple of bit tests: O(1), no allocation.
public struct OutcomeClassifier: Sendable {
    /// The configuration the classifier follows.
    public let configuration: OutcomeClassifierConfiguration

    @usableFromInline
    let failure: AttemptPatternSet
    @usableFromInline
    let ignored: AttemptPatternSet

    /// A classifier following `configuration`, which should have passed `validate()` (invalid entries
    /// are skipped).
    public init(configuration: OutcomeClassifierConfiguration = .defaults) {
        self.configuration = configuration
        self.failure = AttemptPatternSet(configuration.failure)
        self.ignored = AttemptPatternSet(configuration.ignored)
    }

    /// The outcome of an HTTP answer with `status`. A status outside 100-599 is not valid HTTP (RFC 9110
    /// §15): the upstream is broken, so it is a failure.
    @inlinable
    public func classify(httpStatus status: Int) -> AttemptOutcome {
        guard status >= 100 && status <= 599 else { return .failure(.httpStatus(status)) }
        if ignored.httpStatuses.contains(status) { return .ignored }
        if failure.httpStatuses.contains(status) { return .failure(.httpStatus(status)) }
        return .success
    }

    /// The outcome of a gRPC answer with status `code`. A code outside 0-16 is classified as UNKNOWN
    /// (2), as gRPC clients map unknown codes (`doc/statuscodes.md`), but the failure keeps the code
    /// received.
    @inlinable
    public func classify(grpcStatus code: Int) -> AttemptOutcome {
        let known = code >= 0 && code <= 16 ? code : 2
        if ignored.grpcStatusCodes.contains(known) { return .ignored }
        if failure.grpcStatusCodes.contains(known) { return .failure(.grpcStatus(code)) }
        return .success
    }

    /// The outcome of an answer with `status`.
    @inlinable
    public func classify(_ status: UpstreamStatus) -> AttemptOutcome {
        switch status {
        case .http(let status): classify(httpStatus: status)
        case .grpc(let code): classify(grpcStatus: code)
        }
    }

    /// The outcome of an attempt that got no answer: the upstream's failure, except a cancellation by
    /// the caller, which is ignored (DESIGN.md "Circuit breaker").
    @inlinable
    public func classify(_ failure: TransportFailure) -> AttemptOutcome {
        switch failure {
        case .connectFailure: .failure(.connectFailure)
        case .reset: .failure(.reset)
        case .timeout: .failure(.timeout)
        case .cancelledByCaller: .ignored
        }
    }
}
