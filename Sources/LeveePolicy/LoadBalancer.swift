/// Chooses the endpoint for each attempt of one upstream's calls (DESIGN.md, "Endpoints").
///
/// Candidates, in order of preference (the first non-empty tier is used):
/// 1. available endpoints the call has not tried yet (not in `avoiding`);
/// 2. available endpoints, tried or not: a retry prefers another endpoint but never fails for want
///    of one;
/// 3. every endpoint not tried yet, then every endpoint: *panic* when none is available (DESIGN.md
///    simplifies Envoy's `healthy_panic_threshold` to "when all are ejected, use all", so that a
///    detector that ejected everything degrades to plain balancing instead of refusing every call).
///
/// `pick` returns `nil` only for an upstream with no endpoints.
///
/// Round robin walks a cursor over the endpoints and takes the next candidate after the last one
/// picked. Least loaded draws two distinct candidates uniformly at random and takes the one with fewer
/// attempts in flight; on a tie it takes the first drawn, which is itself a uniform random choice.
///
/// The balancer keeps the in-flight count of each endpoint itself: the shell calls
/// `onAttemptStarted(endpoint:)` when it sends an attempt and `onAttemptFinished(endpoint:)` when the
/// attempt ends, however it ends. Keeping the counts here keeps them beside the only reader and makes
/// `pick` need no other input than health. A value: no clock, no I/O, randomness as a parameter;
/// `pick` is allocation-free and O(endpoints).
public struct LoadBalancer: Sendable {
    /// The settings in force.
    public let configuration: LoadBalancerConfiguration

    private var inFlightCounts: ContiguousArray<Int32>
    private var cursor: Int = 0

    /// A balancer over `endpointCount` endpoints with nothing in flight.
    public init(configuration: LoadBalancerConfiguration = .defaults, endpointCount: Int) {
        precondition(endpointCount >= 0, "endpointCount must not be negative")
        self.configuration = configuration
        self.inFlightCounts = ContiguousArray(repeating: 0, count: endpointCount)
    }

    /// How many endpoints the balancer chooses among.
    public var endpointCount: Int {
        inFlightCounts.count
    }

    /// Attempts in flight to `endpoint`.
    public func inFlight(_ endpoint: Int) -> Int {
        Int(inFlightCounts[endpoint])
    }

    // MARK: Events

    /// An attempt was sent to `endpoint`.
    public mutating func onAttemptStarted(endpoint: Int) {
        inFlightCounts[endpoint] += 1
    }

    /// An attempt at `endpoint` ended (answer, failure, timeout or cancellation).
    public mutating func onAttemptFinished(endpoint: Int) {
        precondition(inFlightCounts[endpoint] > 0, "attempt finished at endpoint \(endpoint) with none in flight")
        inFlightCounts[endpoint] -= 1
    }

    // MARK: Choice

    /// Chooses an endpoint among `available`, preferring those not in `avoiding`.
    public mutating func pick(
        available: EndpointSet,
        avoiding: EndpointSet = EndpointSet(),
        using rng: inout some RandomNumberGenerator
    ) -> Int? {
        pick(avoiding: avoiding, using: &rng) { available.contains($0) }
    }

    /// Chooses an endpoint among those `outliers` calls available at `now`, preferring those not in
    /// `avoiding`. The detector must watch the same endpoints as this balancer.
    public mutating func pick(
        outliers: OutlierDetector,
        now: Instant,
        avoiding: EndpointSet = EndpointSet(),
        using rng: inout some RandomNumberGenerator
    ) -> Int? {
        precondition(outliers.endpointCount == endpointCount, "detector and balancer disagree on the endpoints")
        return pick(avoiding: avoiding, using: &rng) { outliers.isAvailable($0, now: now) }
    }

    private mutating func pick(
        avoiding: EndpointSet,
        using rng: inout some RandomNumberGenerator,
        isAvailable: (Int) -> Bool
    ) -> Int? {
        let count = inFlightCounts.count
        guard count > 0 else { return nil }

        var availableFresh = 0
        var available = 0
        var fresh = 0
        for endpoint in 0..<count {
            let isFresh = !avoiding.contains(endpoint)
            let isUp = isAvailable(endpoint)
            if isUp { available += 1 }
            if isFresh { fresh += 1 }
            if isUp && isFresh { availableFresh += 1 }
        }
        let tier: Tier
        let size: Int
        if availableFresh > 0 {
            (tier, size) = (.availableFresh, availableFresh)
        } else if available > 0 {
            (tier, size) = (.available, available)
        } else if fresh > 0 {
            (tier, size) = (.fresh, fresh)
        } else {
            (tier, size) = (.all, count)
        }
        func isCandidate(_ endpoint: Int) -> Bool {
            switch tier {
            case .availableFresh: isAvailable(endpoint) && !avoiding.contains(endpoint)
            case .available: isAvailable(endpoint)
            case .fresh: !avoiding.contains(endpoint)
            case .all: true
            }
        }

        switch configuration.policy {
        case .roundRobin:
            for step in 0..<count {
                let endpoint = (cursor + step) % count
                if isCandidate(endpoint) {
                    cursor = (endpoint + 1) % count
                    return endpoint
                }
            }
            return nil  // unreachable: the tier is not empty
        case .leastLoaded:
            func candidate(_ rank: Int) -> Int {
                var seen = 0
                for endpoint in 0..<count where isCandidate(endpoint) {
                    if seen == rank { return endpoint }
                    seen += 1
                }
                preconditionFailure("candidate rank \(rank) out of \(size)")
            }
            if size == 1 { return candidate(0) }
            let firstRank = Int.random(in: 0..<size, using: &rng)
            var secondRank = Int.random(in: 0..<(size - 1), using: &rng)
            if secondRank >= firstRank { secondRank += 1 }
            let first = candidate(firstRank)
            let second = candidate(secondRank)
            return inFlightCounts[second] < inFlightCounts[first] ? second : first
        }
    }

    private enum Tier {
        case availableFresh, available, fresh, all
    }
}
