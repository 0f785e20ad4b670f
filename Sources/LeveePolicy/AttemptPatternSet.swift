/// A list of `AttemptPattern`s compiled into fixed-size sets, so that matching an attempt is a few bit
/// tests: no hashing, no allocation, whatever the length of the list.
public struct AttemptPatternSet: Hashable, Sendable {
    @usableFromInline
    var connectFailure = false
    @usableFromInline
    var reset = false
    @usableFromInline
    var timeout = false
    /// The HTTP statuses the patterns name.
    public private(set) var httpStatuses = HTTPStatusSet()
    /// The gRPC status codes the patterns name.
    public private(set) var grpcStatusCodes = GRPCStatusCodeSet()

    /// An empty set, matching nothing.
    public init() {}

    /// The set of `patterns`. Invalid patterns (statuses out of range) add nothing; `validate()` of the
    /// owning configuration reports them.
    public init(_ patterns: some Sequence<AttemptPattern>) {
        for pattern in patterns { insert(pattern) }
    }

    /// Adds `pattern`.
    public mutating func insert(_ pattern: AttemptPattern) {
        switch pattern {
        case .connectFailure: connectFailure = true
        case .reset: reset = true
        case .timeout: timeout = true
        case .httpStatus(let range): httpStatuses.insert(range)
        case .grpcStatus(let code): grpcStatusCodes.insert(code)
        }
    }

    /// Whether a pattern of the set matches `failure`.
    @inlinable
    public func matches(_ failure: AttemptFailure) -> Bool {
        switch failure {
        case .connectFailure: connectFailure
        case .reset: reset
        case .timeout: timeout
        case .httpStatus(let status): httpStatuses.contains(status)
        case .grpcStatus(let code): grpcStatusCodes.contains(code)
        }
    }

    /// Whether a pattern of the set matches the status an upstream answered with.
    @inlinable
    public func matches(_ status: UpstreamStatus) -> Bool {
        switch status {
        case .http(let status): httpStatuses.contains(status)
        case .grpc(let code): grpcStatusCodes.contains(code)
        }
    }
}
