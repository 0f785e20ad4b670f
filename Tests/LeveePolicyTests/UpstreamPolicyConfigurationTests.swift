import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct UpstreamPolicyConfigurationTests {
    @Test func defaultsAreValid() throws {
        try UpstreamPolicyConfiguration.defaults.validate()
    }

    /// Each section's error comes out with the section's name in front, so the agent only has to add
    /// `upstreams.NAME.`.
    @Test(arguments: [
        (
            UpstreamPolicyConfiguration(breaker: .init(minCalls: 0)),
            "breaker.min_calls"
        ),
        (
            UpstreamPolicyConfiguration(retry: .init(backoff: .init(base: .zero))),
            "retry.backoff.base"
        ),
        (
            UpstreamPolicyConfiguration(timeouts: .init(attempt: .seconds(10), total: .seconds(5))),
            "timeouts.attempt"
        ),
        (
            UpstreamPolicyConfiguration(timeouts: .init(connect: .zero)),
            "timeouts.connect"
        ),
        (
            UpstreamPolicyConfiguration(bulkhead: .init(maxConcurrent: 0)),
            "bulkhead.max_concurrent"
        ),
        (
            UpstreamPolicyConfiguration(outlierDetection: .init(consecutiveFailures: 0)),
            "outlier_detection.consecutive_failures"
        ),
        (
            UpstreamPolicyConfiguration(classify: .init(failure: [.connectFailure])),
            "classify.failure[0]"
        ),
        (
            UpstreamPolicyConfiguration(
                timeouts: .init(connect: .milliseconds(100), attempt: .milliseconds(200), total: .milliseconds(300)),
                bulkhead: .init(queueTimeout: .seconds(1))
            ),
            "bulkhead.queue_timeout"
        ),
    ])
    func errorsNameTheFullKeyPath(configuration: UpstreamPolicyConfiguration, keyPath: String) {
        #expect {
            try configuration.validate()
        } throws: { error in
            (error as? ConfigurationError)?.keyPath == keyPath
        }
    }

    @Test func deadlineIsTheEarlierOfTheAppsLimitAndTheTotal() {
        let clock = ManualClock()
        let timeouts = TimeoutConfiguration(total: .seconds(5))
        #expect(timeouts.deadline(requested: .seconds(1), now: clock.now) == Deadline(clock.now + .seconds(1)))
        #expect(timeouts.deadline(requested: .seconds(9), now: clock.now) == Deadline(clock.now + .seconds(5)))
        #expect(timeouts.deadline(requested: nil, now: clock.now) == Deadline(clock.now + .seconds(5)))
    }
}
