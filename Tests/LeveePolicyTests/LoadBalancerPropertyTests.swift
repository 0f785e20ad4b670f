import PropertyBased
import Testing

@testable import LeveePolicy

/// The balancer has two implementations of one rule: bit masks for up to 64 endpoints (the hot path)
/// and a scan for more. They must choose exactly the same endpoint for the same state, avoid-list,
/// health and random word, so the rule's tests (which mostly use few endpoints) cover both.
@Suite struct LoadBalancerPropertyTests {
    @Test(arguments: LoadBalancerConfiguration.Policy.allCases)
    func maskAndScanChooseTheSameEndpoint(policy: LoadBalancerConfiguration.Policy) async {
        await propertyCheck(
            count: 500,
            input: Gen.int(in: 1...64),
            Gen.uint64().array(of: 1...40),
            Gen.uint64(),
            Gen.uint64()
        ) { count, randomWords, availableBits, avoidedBits in
            var masks = LoadBalancer(configuration: .init(policy: policy), endpointCount: count)
            var scans = masks
            let avoiding = EndpointSet((0..<count).filter { avoidedBits & (1 << UInt64($0)) != 0 })
            let isAvailable = { (endpoint: Int) in availableBits & (1 << UInt64(endpoint)) != 0 }
            for random in randomWords {
                let byMask = masks.pickAmongFew(avoiding: avoiding, random: random, isAvailable: isAvailable)
                let byScan = scans.pickByScanning(avoiding: avoiding, random: random, isAvailable: isAvailable)
                #expect(byMask == byScan)
                // Load the chosen endpoint so that least-loaded choices depend on the history.
                masks.onAttemptStarted(endpoint: byMask)
                if let byScan { scans.onAttemptStarted(endpoint: byScan) }
            }
        }
    }
}
