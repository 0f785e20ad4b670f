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
        let random = configuration.policy == .leastLoaded ? rng.next() : 0
        return pick(avoiding: avoiding, random: random) { available.contains($0) }
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
        let random = configuration.policy == .leastLoaded ? rng.next() : 0
        return pick(avoiding: avoiding, random: random) { outliers.isAvailable($0, now: now) }
    }

    /// The choice itself. It takes one random word rather than the generator, so that the generic
    /// public entry points draw once and this body is compiled once, not re-entered through the
    /// generator's witness table for every draw (that made P2C ten times slower).
    private mutating func pick(
        avoiding: EndpointSet,
        random: UInt64,
        isAvailable: (Int) -> Bool
    ) -> Int? {
        switch inFlightCounts.count {
        case 0: nil
        case 1...64: pickAmongFew(avoiding: avoiding, random: random, isAvailable: isAvailable)
        default: pickByScanning(avoiding: avoiding, random: random, isAvailable: isAvailable)
        }
    }

    /// The choice for any number of endpoints, by scanning them; internal so that a test can check it
    /// against `pickAmongFew`, which must choose exactly the same.
    mutating func pickByScanning(
        avoiding: EndpointSet,
        random: UInt64,
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
            // Two bounded draws from the two halves of the word (Lemire's multiply-shift; the bias is
            // below size / 2^32, far under anything a balancer could notice).
            let firstRank = Int(((random & 0xFFFF_FFFF) &* UInt64(size)) >> 32)
            var secondRank = Int(((random >> 32) &* UInt64(size - 1)) >> 32)
            if secondRank >= firstRank { secondRank += 1 }
            let first = candidate(firstRank)
            let second = candidate(secondRank)
            return inFlightCounts[second] < inFlightCounts[first] ? second : first
        }
    }

    /// The same choice as `pickByScanning(avoiding:random:isAvailable:)` for 1 to 64 endpoints, on bit masks:
    /// one pass over the endpoints, then every tier, count and rank is a bit operation. This is the
    /// common case and keeps a pick well under 100 ns.
    mutating func pickAmongFew(
        avoiding: EndpointSet,
        random: UInt64,
        isAvailable: (Int) -> Bool
    ) -> Int {
        let count = inFlightCounts.count
        let all: UInt64 = count == 64 ? .max : (1 << UInt64(count)) - 1
        var available: UInt64 = 0
        for endpoint in 0..<count where isAvailable(endpoint) {
            available |= 1 << UInt64(endpoint)
        }
        let fresh = all & ~avoiding.low
        let candidates: UInt64
        if available & fresh != 0 {
            candidates = available & fresh
        } else if available != 0 {
            candidates = available
        } else if fresh != 0 {
            candidates = fresh
        } else {
            candidates = all
        }

        switch configuration.policy {
        case .roundRobin:
            let atOrAfterCursor = candidates & ~((1 << UInt64(cursor)) - 1)
            let endpoint = (atOrAfterCursor != 0 ? atOrAfterCursor : candidates).trailingZeroBitCount
            cursor = (endpoint + 1) % count
            return endpoint
        case .leastLoaded:
            let size = candidates.nonzeroBitCount
            if size == 1 { return candidates.trailingZeroBitCount }
            let firstRank = Int(((random & 0xFFFF_FFFF) &* UInt64(size)) >> 32)
            var secondRank = Int(((random >> 32) &* UInt64(size - 1)) >> 32)
            if secondRank >= firstRank { secondRank += 1 }
            let first = Self.endpoint(ofRank: firstRank, in: candidates)
            let second = Self.endpoint(ofRank: secondRank, in: candidates)
            return inFlightCounts[second] < inFlightCounts[first] ? second : first
        }
    }

    /// The index of the `rank`-th set bit of `mask`, counting from the lowest.
    private static func endpoint(ofRank rank: Int, in mask: UInt64) -> Int {
        var remaining = mask
        for _ in 0..<rank { remaining &= remaining - 1 }
        return remaining.trailingZeroBitCount
    }

    private enum Tier {
        case availableFresh, available, fresh, all
    }
}
