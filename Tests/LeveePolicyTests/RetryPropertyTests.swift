import LeveePolicy
import LeveeTestKit
import PropertyBased
import Testing

@Suite struct RetryPropertyTests {
    @Test func backoffIsAlwaysWithinZeroAndTheCap() async {
        await propertyCheck(
            count: 300,
            input: Gen.int(in: 1...Int.max),
            Gen.uint64(),
            Gen.element(of: BackoffConfiguration.Jitter.allCases),
            Gen.int64(in: 1...5_000)
        ) { retry, seed, jitter, baseMilliseconds in
            let config = BackoffConfiguration(base: .milliseconds(baseMilliseconds), max: .seconds(5), jitter: jitter!)
            var backoff = Backoff(configuration: config)
            var rng = SeededRandom(seed: seed)
            for offset in 0..<4 {
                let delay = backoff.delay(forRetry: retry &- offset, using: &rng)
                #expect(delay >= .zero && delay <= config.max)
                if jitter == .decorrelated && config.base <= config.max {
                    #expect(delay >= config.base)
                }
            }
        }
    }

    /// One step of a random budget workload, decoded from a random integer: half deposits, 40%
    /// withdrawals, 10% clock advances of 1 ms to 3 s.
    enum Step: Sendable {
        case deposit
        case withdraw
        case advance(milliseconds: Int64)

        init(_ code: Int) {
            switch code % 10 {
            case 0..<5: self = .deposit
            case 5..<9: self = .withdraw
            default: self = .advance(milliseconds: Int64(code / 10 % 3_000 + 1))
            }
        }
    }

    @Test func budgetNeverGrantsMoreThanRatioOfDepositsOrTheFloor() async {
        await propertyCheck(
            count: 200,
            input: Gen.int(in: 0...1_000_000).array(of: 1...400),
            Gen.element(of: [0.0, 0.1, 0.2, 0.3, 1.0, 2.5]),
            Gen.int(in: 0...5),
            Gen.int64(in: 1...5)
        ) { steps, ratio, minPerSecond, ttlSeconds in
            let config = RetryBudgetConfiguration(ratio: ratio!, minPerSecond: minPerSecond, ttl: .seconds(ttlSeconds))
            var budget = RetryBudget(configuration: config)
            var clock = ManualClock()
            var deposits: [Instant] = []
            var grants: [Instant] = []
            let ttl = config.ttl
            let slice = ttl / 10
            for code in steps {
                switch Step(code) {
                case .deposit:
                    budget.deposit(now: clock.now)
                    deposits.append(clock.now)
                case .advance(let milliseconds):
                    clock.advance(by: .milliseconds(milliseconds))
                case .withdraw:
                    guard budget.tryWithdraw(now: clock.now) else { continue }
                    grants.append(clock.now)
                    // Every grant in the last ttl − one slice, paid for by the deposits of the last ttl or
                    // else the floor: grants·cost ≤ max(deposits·1000, min_per_second·ttl·cost).
                    let now = clock.now
                    let recentGrants = grants.filter { now - $0 < ttl - slice }.count
                    let recentDeposits = deposits.filter { now - $0 < ttl }.count
                    let allowed = max(Int64(recentDeposits) * budget.depositAmount, budget.reserve)
                    #expect(
                        Int64(recentGrants) * budget.withdrawalAmount <= allowed,
                        "\(recentGrants) grants for \(recentDeposits) deposits"
                    )
                    // In the ratio's own terms (⌊1000/ratio⌋ rounds the cost down by under one token).
                    let floor = Double(minPerSecond) * Double(ttlSeconds)
                    #expect(Double(recentGrants) <= max(ratio! * Double(recentDeposits) * 1.001, floor) + 1e-9)
                }
            }
        }
    }
}
