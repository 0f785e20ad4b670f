import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct RetryDecisionTests {
    /// One attempt's circumstances, with defaults that would retry a GET on a 503.
    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var outcome: AttemptOutcome = .failure(.httpStatus(503))
        var status: UpstreamStatus? = nil
        var isIdempotent = true
        var attemptsMade = 1
        var pushback: ServerPushback? = nil
        var deadline: Duration? = .seconds(5)
        var expected: RetryStopReason?

        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "503 on a GET retries", expected: nil),
        Scenario(name: "success stops", outcome: .success, expected: .succeeded),
        Scenario(name: "ignored stops", outcome: .ignored, expected: .ignored),
        Scenario(name: "404 success stops", outcome: .success, status: .http(404), expected: .succeeded),
        Scenario(name: "429 listed is retried", outcome: .success, status: .http(429), expected: nil),
        Scenario(
            name: "429 on a POST is not",
            outcome: .success,
            status: .http(429),
            isIdempotent: false,
            expected: .notIdempotent
        ),
        Scenario(name: "gRPC INTERNAL not in on", outcome: .failure(.grpcStatus(13)), expected: .notRetryable),
        Scenario(name: "gRPC UNAVAILABLE in on", outcome: .failure(.grpcStatus(14)), expected: nil),
        Scenario(name: "POST 5xx without key", isIdempotent: false, expected: .notIdempotent),
        Scenario(name: "POST reset", outcome: .failure(.reset), isIdempotent: false, expected: .notIdempotent),
        Scenario(name: "POST timeout", outcome: .failure(.timeout), isIdempotent: false, expected: .notIdempotent),
        Scenario(
            name: "POST connect failure retries",
            outcome: .failure(.connectFailure),
            isIdempotent: false,
            expected: nil
        ),
        Scenario(name: "third attempt was the last", attemptsMade: 3, expected: .attemptsExhausted),
        Scenario(name: "second attempt may retry", attemptsMade: 2, expected: nil),
        Scenario(name: "server says no", pushback: .doNotRetry, expected: .serverPushback),
        Scenario(name: "server delay within deadline", pushback: .retry(after: .seconds(2)), expected: nil),
        Scenario(name: "server delay past deadline", pushback: .retry(after: .seconds(6)), expected: .deadline),
        Scenario(name: "server delay ending at deadline", pushback: .retry(after: .seconds(5)), expected: .deadline),
        Scenario(
            name: "no useful time left",
            pushback: .retry(after: .milliseconds(4_999) + .microseconds(500)),
            expected: .deadline
        ),
        Scenario(name: "deadline already spent", deadline: .zero, expected: .deadline),
        Scenario(
            name: "no deadline, long server delay",
            pushback: .retry(after: .seconds(3_600)),
            deadline: nil,
            expected: nil
        ),
    ]

    @Test(arguments: scenarios)
    func decisionTable(scenario: Scenario) {
        let policy = RetryPolicy(
            configuration: .init(on: [
                .connectFailure, .reset, .timeout, .httpStatus(500...599),
                .httpStatus(429...429), .grpcStatus(14),
            ])
        )
        var budget = policy.makeBudget()
        var backoff = policy.makeBackoff()
        var rng = SeededRandom(seed: 11)
        let clock = ManualClock()
        let balance = budget.balance(now: clock.now)
        let decision = policy.decide(
            outcome: scenario.outcome,
            status: scenario.status,
            isIdempotent: scenario.isIdempotent,
            attemptsMade: scenario.attemptsMade,
            pushback: scenario.pushback,
            endpoint: "10.0.0.1:80",
            deadline: .after(scenario.deadline, from: clock.now),
            now: clock.now,
            budget: &budget,
            backoff: &backoff,
            using: &rng
        )
        if let reason = scenario.expected {
            #expect(decision == .stop(reason))
            #expect(budget.balance(now: clock.now) == balance, "the budget is charged only for a retry")
        } else {
            guard case .retry(let delay, let avoiding) = decision else {
                Issue.record("expected a retry, got \(decision)")
                return
            }
            #expect(avoiding == "10.0.0.1:80")
            #expect(budget.balance(now: clock.now) == balance - 1)
            if case .retry(let after) = scenario.pushback {
                #expect(delay == after)
            } else {
                #expect(delay >= .zero && delay <= .seconds(1))
            }
        }
    }

    @Test func budgetExhaustedStopsWithoutFurtherCharge() {
        let policy = RetryPolicy(configuration: .init(budget: .init(ratio: 0.2, minPerSecond: 1, ttl: .seconds(2))))
        var budget = policy.makeBudget()
        var rng = SeededRandom(seed: 1)
        let clock = ManualClock()
        var decisions: [RetryDecision<Int>] = []
        for call in 0..<3 {
            var backoff = policy.makeBackoff()
            decisions.append(
                policy.decide(
                    outcome: .failure(.connectFailure),
                    isIdempotent: true,
                    attemptsMade: 1,
                    endpoint: call,
                    deadline: .none,
                    now: clock.now,
                    budget: &budget,
                    backoff: &backoff,
                    using: &rng
                )
            )
        }
        #expect(decisions.map { $0 == .stop(.budgetExhausted) } == [false, false, true])
        #expect(budget.balance(now: clock.now) == 0)
    }

    @Test func neverWaitsPastTheDeadline() {
        let policy = RetryPolicy(configuration: .init(maxAttempts: 10, backoff: .init(max: .seconds(10))))
        var rng = SeededRandom(seed: 2024)
        var clock = ManualClock()
        for _ in 0..<500 {
            var budget = policy.makeBudget()
            var backoff = policy.makeBackoff()
            let deadline = Deadline.after(.milliseconds(Int64.random(in: 0...3_000, using: &rng)), from: clock.now)
            for attempt in 1..<10 {
                let decision = policy.decide(
                    outcome: .failure(.timeout),
                    isIdempotent: true,
                    attemptsMade: attempt,
                    endpoint: attempt,
                    deadline: deadline,
                    now: clock.now,
                    budget: &budget,
                    backoff: &backoff,
                    using: &rng
                )
                guard case .retry(let delay, _) = decision else {
                    #expect(decision == .stop(.deadline))
                    break
                }
                #expect(clock.now + delay < deadline.instant)
                #expect(deadline.remaining(now: clock.now + delay) >= .milliseconds(1))
                clock.advance(by: delay)
            }
        }
    }

    @Test func serverDelayRestartsTheBackoff() {
        let policy = RetryPolicy(configuration: .init(maxAttempts: 10, backoff: .init(jitter: .none)))
        var budget = policy.makeBudget()
        var backoff = policy.makeBackoff()
        var rng = SeededRandom(seed: 1)
        let clock = ManualClock()
        func decide(_ pushback: ServerPushback?, attempt: Int) -> RetryDecision<String> {
            policy.decide(
                outcome: .failure(.httpStatus(503)),
                isIdempotent: true,
                attemptsMade: attempt,
                pushback: pushback,
                endpoint: "a",
                deadline: .none,
                now: clock.now,
                budget: &budget,
                backoff: &backoff,
                using: &rng
            )
        }
        #expect(decide(nil, attempt: 1) == .retry(after: .milliseconds(25), avoiding: "a"))
        #expect(decide(nil, attempt: 2) == .retry(after: .milliseconds(50), avoiding: "a"))
        #expect(decide(.retry(after: .seconds(3)), attempt: 3) == .retry(after: .seconds(3), avoiding: "a"))
        #expect(decide(nil, attempt: 4) == .retry(after: .milliseconds(25), avoiding: "a"))
    }

    @Test(arguments: [
        ("GET", false, true), ("HEAD", false, true), ("OPTIONS", false, true), ("PUT", false, true),
        ("DELETE", false, true), ("TRACE", false, true), ("POST", false, false), ("PATCH", false, false),
        ("CONNECT", false, false), ("get", false, false), ("POST", true, true), ("PATCH", true, true),
    ])
    func httpIdempotency(method: String, hasKey: Bool, expected: Bool) {
        #expect(RequestIdempotency.isIdempotent(httpMethod: method, hasIdempotencyKey: hasKey) == expected)
    }

    @Test func grpcMethodsListedAsIdempotent() {
        let policy = RetryPolicy(configuration: .init(idempotentMethods: ["/shop.Cart/Get", "shop.Cart/List"]))
        #expect(policy.isIdempotent(grpcMethod: "/shop.Cart/Get"))
        #expect(policy.isIdempotent(grpcMethod: "shop.Cart/Get"))
        #expect(policy.isIdempotent(grpcMethod: "/shop.Cart/List"))
        #expect(!policy.isIdempotent(grpcMethod: "/shop.Cart/Add"))
    }

    @Test func onListParsesFromConfigStrings() throws {
        let parsed = try AttemptPattern.parseList(
            [
                "connect-failure", "reset", "timeout", "5xx", "503", "429", "500-504", "unavailable",
                "RESOURCE_EXHAUSTED",
            ],
            key: "on"
        )
        #expect(
            parsed == [
                .connectFailure, .reset, .timeout, .httpStatus(500...599), .httpStatus(503...503),
                .httpStatus(429...429), .httpStatus(500...504), .grpcStatus(14), .grpcStatus(8),
            ]
        )
        #expect(
            parsed.map(\.description) == [
                "connect-failure", "reset", "timeout", "5xx", "503", "429", "500-504", "unavailable",
                "resource-exhausted",
            ]
        )
    }

    @Test(arguments: ["6xx", "600", "99", "5x", "504-500", "", "unavailabel", "connect failure", "-503", "5033"])
    func onListRejectsAndNamesTheEntry(entry: String) {
        #expect(throws: ConfigurationError(keyPath: "on[1]", value: entry, expected: AttemptPattern.expectedSpelling)) {
            try AttemptPattern.parseList(["reset", entry], key: "on")
        }
    }

    @Test(arguments: [
        (RetryConfiguration(maxAttempts: 0), "max_attempts", "0"),
        (RetryConfiguration(maxAttempts: 11), "max_attempts", "11"),
        (RetryConfiguration(on: [.reset, .timeout, .httpStatus(600...700)]), "on[2]", "600-700"),
        (RetryConfiguration(on: [.grpcStatus(17)]), "on[0]", "grpc-17"),
        (RetryConfiguration(backoff: .init(base: .zero)), "backoff.base", "0s"),
        (RetryConfiguration(budget: .init(ratio: -1)), "budget.ratio", "-1.0"),
        (RetryConfiguration(idempotentMethods: ["Get"]), "idempotent_methods[0]", "Get"),
        (RetryConfiguration(minAttemptTime: .milliseconds(-1)), "min_attempt_time", "-1ms"),
    ])
    func validateNamesTheBadKey(config: RetryConfiguration, key: String, value: String) {
        #expect {
            try config.validate()
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.keyPath == key && error?.value == value
        }
    }

    @Test func defaultsValidateAndCountTheFirstAttempt() {
        #expect(RetryConfiguration.defaults.maxAttempts == 3)
        #expect(throws: Never.self) { try RetryConfiguration.defaults.validate() }
    }

    @Test(arguments: [
        ("250", ServerPushback.retry(after: .milliseconds(250))),
        ("0", .retry(after: .zero)),
        ("-1", .doNotRetry),
        ("", .doNotRetry),
        ("12ms", .doNotRetry),
        (" 5", .doNotRetry),
        ("+5", .doNotRetry),
        ("99999999999999999999999", .retry(after: .milliseconds(Int64.max))),
    ])
    func grpcRetryPushback(value: String, expected: ServerPushback) {
        #expect(ServerPushback(grpcRetryPushbackMilliseconds: value) == expected)
    }

    @Test(arguments: [
        ("120", ServerPushback?.some(.retry(after: .seconds(120)))),
        ("0", .some(.retry(after: .zero))),
        ("Wed, 21 Oct 2015 07:28:00 GMT", nil),
        ("-3", nil),
        ("", nil),
        ("1.5", nil),
    ])
    func retryAfterDelaySeconds(value: String, expected: ServerPushback?) {
        #expect(ServerPushback(retryAfter: value) == expected)
    }
}
