import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct LoadBalancerTests {
    private static func picks(
        _ balancer: inout LoadBalancer,
        available: EndpointSet,
        avoiding: EndpointSet = EndpointSet(),
        count: Int,
        seed: UInt64 = 7
    ) -> [Int?] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in balancer.pick(available: available, avoiding: avoiding, using: &rng) }
    }

    @Test func roundRobinVisitsEachEndpointInTurn() {
        var balancer = LoadBalancer(endpointCount: 3)
        #expect(Self.picks(&balancer, available: .all(count: 3), count: 6) == [0, 1, 2, 0, 1, 2])
    }

    @Test func roundRobinSkipsEjectedEndpoints() throws {
        let now = ManualClock().now
        var outliers = try OutlierDetector(
            configuration: OutlierDetectionConfiguration(consecutiveFailures: 1),
            endpointCount: 4
        )
        _ = outliers.record(endpoint: 1, outcome: .failure(.reset), now: now)
        var balancer = LoadBalancer(endpointCount: 4)
        var rng = SeededRandom(seed: 1)
        let order = (0..<6).map { _ in balancer.pick(outliers: outliers, now: now, using: &rng) }
        #expect(order == [0, 2, 3, 0, 2, 3])
    }

    @Test func leastLoadedPrefersTheLessLoadedOfTwo() {
        var balancer = LoadBalancer(configuration: LoadBalancerConfiguration(policy: .leastLoaded), endpointCount: 2)
        for _ in 0..<5 { balancer.onAttemptStarted(endpoint: 0) }
        // With two candidates both are always drawn, so the less loaded one always wins.
        #expect(Self.picks(&balancer, available: .all(count: 2), count: 20).allSatisfy { $0 == 1 })
        for _ in 0..<5 { balancer.onAttemptFinished(endpoint: 0) }
        #expect(balancer.inFlight(0) == 0)
    }

    @Test func leastLoadedNeverPicksTheMostLoadedAmongMany() {
        var balancer = LoadBalancer(configuration: LoadBalancerConfiguration(policy: .leastLoaded), endpointCount: 5)
        for endpoint in 0..<5 {
            for _ in 0..<endpoint { balancer.onAttemptStarted(endpoint: endpoint) }
        }
        let picks = Self.picks(&balancer, available: .all(count: 5), count: 400, seed: 42).compactMap { $0 }
        #expect(picks.count == 400)
        #expect(!picks.contains(4), "the most loaded endpoint can never win a draw of two distinct candidates")
        let zeroes = picks.count { $0 == 0 }
        #expect(zeroes > picks.count / 3, "the least loaded endpoint wins every draw it is in (2/5 of them)")
    }

    @Test(arguments: LoadBalancerConfiguration.Policy.allCases)
    func avoidListIsHonoured(policy: LoadBalancerConfiguration.Policy) {
        var balancer = LoadBalancer(configuration: LoadBalancerConfiguration(policy: policy), endpointCount: 4)
        let picks = Self.picks(&balancer, available: .all(count: 4), avoiding: EndpointSet([0, 2]), count: 40)
        #expect(Set(picks) == [1, 3])
    }

    @Test(arguments: LoadBalancerConfiguration.Policy.allCases)
    func fallsBackToAvoidedEndpointsWhenEveryAvailableOneWasTried(policy: LoadBalancerConfiguration.Policy) {
        var balancer = LoadBalancer(configuration: LoadBalancerConfiguration(policy: policy), endpointCount: 4)
        let available = EndpointSet([1, 2])
        let picks = Self.picks(&balancer, available: available, avoiding: EndpointSet([1, 2]), count: 40)
        #expect(Set(picks) == [1, 2], "an unavailable endpoint is not preferred to a tried available one")
    }

    @Test(arguments: LoadBalancerConfiguration.Policy.allCases)
    func panicUsesEveryEndpointWhenNoneIsAvailable(policy: LoadBalancerConfiguration.Policy) {
        var balancer = LoadBalancer(configuration: LoadBalancerConfiguration(policy: policy), endpointCount: 3)
        #expect(Set(Self.picks(&balancer, available: EndpointSet(), count: 60)) == [0, 1, 2])
        // Still preferring endpoints the call has not tried.
        let fresh = Self.picks(&balancer, available: EndpointSet(), avoiding: EndpointSet([0]), count: 40)
        #expect(Set(fresh) == [1, 2])
        let all = Self.picks(&balancer, available: EndpointSet(), avoiding: .all(count: 3), count: 60)
        #expect(Set(all) == [0, 1, 2])
    }

    @Test func panicWhenTheDetectorEjectedEverything() throws {
        let now = ManualClock().now
        var outliers = try OutlierDetector(
            configuration: OutlierDetectionConfiguration(consecutiveFailures: 1, maxEjectionPercent: 100),
            endpointCount: 2
        )
        _ = outliers.record(endpoint: 0, outcome: .failure(.timeout), now: now)
        _ = outliers.record(endpoint: 1, outcome: .failure(.timeout), now: now)
        var balancer = LoadBalancer(endpointCount: 2)
        var rng = SeededRandom(seed: 3)
        #expect(balancer.pick(outliers: outliers, now: now, using: &rng) == 0)
        #expect(balancer.pick(outliers: outliers, now: now, using: &rng) == 1)
    }

    @Test(arguments: LoadBalancerConfiguration.Policy.allCases)
    func noEndpointsMeansNoPick(policy: LoadBalancerConfiguration.Policy) {
        var balancer = LoadBalancer(configuration: LoadBalancerConfiguration(policy: policy), endpointCount: 0)
        var rng = SeededRandom(seed: 1)
        #expect(balancer.pick(available: EndpointSet(), using: &rng) == nil)
    }

    @Test func endpointSetBeyondSixtyFourEndpoints() {
        var set = EndpointSet([3, 64, 130])
        #expect(set.contains(3) && set.contains(64) && set.contains(130))
        #expect(!set.contains(65) && !set.contains(1_000))
        #expect(set.count == 3)
        set.remove(130)
        #expect(set == EndpointSet([64, 3]))
        #expect(set.hashValue == EndpointSet([3, 64]).hashValue)
        set.removeAll()
        #expect(set.isEmpty)
        #expect(set == EndpointSet())
    }

    @Test func largeUpstreamAvoidsAcrossWords() {
        var balancer = LoadBalancer(endpointCount: 100)
        var avoiding = EndpointSet.all(count: 100)
        avoiding.remove(99)
        let picks = Self.picks(&balancer, available: .all(count: 100), avoiding: avoiding, count: 3)
        #expect(picks == [99, 99, 99])
    }
}
