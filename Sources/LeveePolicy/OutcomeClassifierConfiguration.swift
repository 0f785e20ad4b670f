/// Which answers count as the upstream's failure, and which say nothing about it: the `classify`
/// section of an upstream.
///
/// DESIGN.md "Circuit breaker": only what the upstream did counts: 5xx (configurable) and gRPC
/// UNAVAILABLE, INTERNAL, UNKNOWN, DEADLINE_EXCEEDED are failures; a 4xx is a success for the breaker
/// (the caller's mistake, not the upstream's sickness); calls the app cancelled are never recorded.
/// An entry in both lists is ignored (`ignored` wins, as r4j's `ignoreExceptions` is checked first).
public struct OutcomeClassifierConfiguration: Hashable, Sendable {
    /// Statuses that are the upstream's failure (`failure`, default `[5xx, unknown, deadline-exceeded,
    /// internal, unavailable]`).
    public var failure: [AttemptPattern]
    /// Statuses that are neither success nor failure: never recorded, never retried (`ignored`, default
    /// `[cancelled]`: a gRPC CANCELLED almost always echoes a cancellation on our side).
    public var ignored: [AttemptPattern]

    public init(
        failure: [AttemptPattern] = [
            .httpStatus(500...599), .grpcStatus(2), .grpcStatus(4), .grpcStatus(13), .grpcStatus(14),
        ],
        ignored: [AttemptPattern] = [.grpcStatus(1)]
    ) {
        self.failure = failure
        self.ignored = ignored
    }

    /// 5xx and gRPC UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE are failures; gRPC CANCELLED is
    /// ignored; every other status is a success.
    public static let defaults = OutcomeClassifierConfiguration()

    /// What a valid entry of these lists looks like.
    public static let expectedSpelling =
        "an HTTP status (503), class (5xx) or range (500-599), or a gRPC status name (unavailable)"

    /// Throws naming the first bad entry (`failure[1]`, `ignored[0]`): a status out of range, or a
    /// transport kind (transport failures are always failures, and not configurable here).
    public func validate() throws(ConfigurationError) {
        for (key, list) in [("failure", failure), ("ignored", ignored)] {
            for (index, pattern) in list.enumerated() where !(pattern.isValid && pattern.isStatus) {
                throw ConfigurationError(
                    keyPath: "\(key)[\(index)]",
                    value: pattern.description,
                    expected: Self.expectedSpelling
                )
            }
        }
    }
}
