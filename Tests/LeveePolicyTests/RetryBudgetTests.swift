import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct RetryBudgetTests {
    @Test func startsWithTheReserveOnly() {
        let budget = RetryBudget()
        #expect(budget.depositAmount == 1_000)
        #expect(budget.withdrawalAmount == 5_000)
        #expect(budget.reserve == 10 * 10 * 5_000)
        #expect(budget.balance(now: ManualClock().now) == 100)
    }

    @Test func withNoTrafficItGrantsNoMoreThanItsFloor() {
        var budget = RetryBudget()
        var clock = ManualClock()
        var granted = 0
        for _ in 0..<1_000 where budget.tryWithdraw(now: clock.now) { granted += 1 }
        #expect(granted == 100)  // min_per_second × ttl
        #expect(budget.balance(now: clock.now) == 0)
        clock.advance(by: .seconds(5))
        let grantedLater = budget.tryWithdraw(now: clock.now)
        #expect(!grantedLater)
    }

    @Test func withdrawalsExpireAfterTheTTL() {
        var budget = RetryBudget()
        var clock = ManualClock()
        while budget.tryWithdraw(now: clock.now) {}
        #expect(budget.balance(now: clock.now) == 0)
        clock.advance(by: .seconds(9))
        #expect(budget.balance(now: clock.now) == 0)
        clock.advance(by: .seconds(1))
        #expect(budget.balance(now: clock.now) == 100)
        let granted = budget.tryWithdraw(now: clock.now)
        #expect(granted)
    }

    @Test func depositsEarnRatioRetriesAboveTheFloorAndExpire() {
        var budget = RetryBudget()
        var clock = ManualClock()
        for _ in 0..<50 { budget.deposit(now: clock.now) }
        #expect(budget.balance(now: clock.now) == 100)  // 0.2 × 50 is under the floor of 100
        for _ in 0..<950 { budget.deposit(now: clock.now) }
        #expect(budget.balance(now: clock.now) == 200)  // 0.2 × 1 000, not 200 + the floor
        clock.advance(by: .seconds(10))
        #expect(budget.balance(now: clock.now) == 100)
    }

    @Test func withdrawalsCountAgainstTheLargerOfDepositsAndFloor() {
        var budget = RetryBudget()
        let clock = ManualClock()
        for _ in 0..<150 { _ = budget.tryWithdraw(now: clock.now) }
        #expect(budget.balance(now: clock.now) == 0)  // the floor's 100 are spent
        for _ in 0..<500 { budget.deposit(now: clock.now) }
        #expect(budget.balance(now: clock.now) == 0)  // 0.2 × 500 = 100: no more than the floor
        for _ in 0..<100 { budget.deposit(now: clock.now) }
        #expect(budget.balance(now: clock.now) == 20)  // 0.2 × 600 − 100
        budget.refund(now: clock.now)
        #expect(budget.balance(now: clock.now) == 21)
    }

    @Test func balanceDoesNotChangeTheBudget() {
        var budget = RetryBudget()
        let clock = ManualClock()
        budget.deposit(now: clock.now)
        let before = budget.balance(now: clock.now + .seconds(30))
        #expect(before == 100)
        #expect(budget.balance(now: clock.now) == 100)
    }

    @Test(arguments: [(100, 0.2 * 10_000), (25, 10.0 * 100)])
    func longRunGrantsTheRatioOrTheFloorWhicheverIsMore(perSecond: Int, expected: Double) {
        // Requests for 100 s, each followed by a retry request: at 100/s the ratio pays for 20 retries a
        // second (the floor's 10 add nothing); at 25/s it would pay for 5, and the floor allows 10.
        var budget = RetryBudget()
        var clock = ManualClock()
        var granted = 0
        for _ in 0..<(perSecond * 100) {
            budget.deposit(now: clock.now)
            if budget.tryWithdraw(now: clock.now) { granted += 1 }
            clock.advance(by: .seconds(1) / perSecond)
        }
        #expect(abs(Double(granted) - expected) / expected < 0.06, "granted \(granted), expected ≈ \(expected)")
    }

    @Test func ratioZeroLeavesOnlyTheFloor() {
        var budget = RetryBudget(configuration: .init(ratio: 0, minPerSecond: 2, ttl: .seconds(5)))
        let clock = ManualClock()
        for _ in 0..<100 { budget.deposit(now: clock.now) }
        var granted = 0
        for _ in 0..<100 where budget.tryWithdraw(now: clock.now) { granted += 1 }
        #expect(granted == 10)
    }

    @Test func emptyBudgetNeverRetries() {
        var budget = RetryBudget(configuration: .init(ratio: 0, minPerSecond: 0))
        let clock = ManualClock()
        budget.deposit(now: clock.now)
        let granted = budget.tryWithdraw(now: clock.now)
        #expect(!granted)
    }

    @Test func timeGoingBackwardsStaysInTheCurrentSlice() {
        var budget = RetryBudget(configuration: .init(minPerSecond: 0))
        var clock = ManualClock()
        clock.advance(by: .seconds(3))
        for _ in 0..<5 { budget.deposit(now: clock.now) }
        let granted = budget.tryWithdraw(now: clock.now - .seconds(2))
        #expect(granted)
        let second = budget.tryWithdraw(now: clock.now)
        #expect(!second)
    }

    @Test(arguments: [
        (RetryBudgetConfiguration(ratio: -0.1), "ratio", "-0.1"),
        (RetryBudgetConfiguration(ratio: .infinity), "ratio", "inf"),
        (RetryBudgetConfiguration(minPerSecond: -1), "min_per_second", "-1"),
        (RetryBudgetConfiguration(ttl: .milliseconds(500)), "ttl", "500ms"),
        (RetryBudgetConfiguration(ttl: .seconds(61)), "ttl", "61s"),
    ])
    func validateNamesTheBadKey(config: RetryBudgetConfiguration, key: String, value: String) {
        #expect {
            try config.validate()
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.keyPath == key && error?.value == value
        }
    }

    @Test func defaultsAreFinagles() {
        #expect(RetryBudgetConfiguration.defaults == .init(ratio: 0.2, minPerSecond: 10, ttl: .seconds(10)))
        #expect(throws: Never.self) { try RetryBudgetConfiguration.defaults.validate() }
    }
}
