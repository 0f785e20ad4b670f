import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct HealthCheckTrackerTests {
    private static let configuration = HealthCheckConfiguration(
        interval: .seconds(5),
        timeout: .seconds(1),
        healthyThreshold: 2,
        unhealthyThreshold: 3
    )

    private static func tracker(endpoints: Int = 3, seed: UInt64 = 42, now: Instant) throws -> HealthCheckTracker {
        var rng = SeededRandom(seed: seed)
        return try HealthCheckTracker(configuration: configuration, endpointCount: endpoints, now: now, using: &rng)
    }

    /// Records `count` results of one kind for `endpoint`; returns the transitions they made.
    private static func record(
        _ result: HealthCheckResult,
        _ count: Int,
        _ tracker: inout HealthCheckTracker,
        endpoint: Int,
        now: Instant
    ) -> [HealthCheckTransition] {
        (0..<count).compactMap { _ in tracker.record(result, endpoint: endpoint, now: now) }
    }

    @Test func endpointsStartUnchecked() throws {
        let tracker = try Self.tracker(now: ManualClock().now)
        #expect((0..<3).allSatisfy { tracker.status(of: $0) == .unchecked && tracker.lastFailure(of: $0) == nil })
    }

    @Test func unhealthyAfterConsecutiveFailuresThenHealthyAfterConsecutivePasses() throws {
        let now = ManualClock().now
        var tracker = try Self.tracker(now: now)
        let failed = HealthCheckResult.failed(detail: "status 503")
        #expect(Self.record(failed, 2, &tracker, endpoint: 1, now: now).isEmpty)
        #expect(tracker.status(of: 1) == .unchecked)
        #expect(tracker.lastFailure(of: 1) == "status 503")
        let down = tracker.record(failed, endpoint: 1, now: now)
        #expect(
            down
                == HealthCheckTransition(
                    endpoint: 1,
                    from: .unchecked,
                    to: .unhealthy,
                    consecutiveChecks: 3,
                    detail: "status 503"
                )
        )
        // More failures change nothing.
        #expect(Self.record(failed, 5, &tracker, endpoint: 1, now: now).isEmpty)

        #expect(tracker.record(.passed, endpoint: 1, now: now) == nil)
        #expect(tracker.status(of: 1) == .unhealthy)
        #expect(tracker.lastFailure(of: 1) == nil)
        let up = tracker.record(.passed, endpoint: 1, now: now)
        #expect(
            up == HealthCheckTransition(endpoint: 1, from: .unhealthy, to: .healthy, consecutiveChecks: 2, detail: nil)
        )
        #expect(tracker.status(of: 0) == .unchecked)
    }

    @Test func aPassInterruptsAFailureStreakAndAFailureAPassStreak() throws {
        let now = ManualClock().now
        var tracker = try Self.tracker(now: now)
        let failed = HealthCheckResult.failed(detail: "timeout after 1000 ms")
        for _ in 0..<10 {
            _ = Self.record(failed, 2, &tracker, endpoint: 0, now: now)
            _ = tracker.record(.passed, endpoint: 0, now: now)
        }
        #expect(tracker.status(of: 0) == .unchecked)
        _ = Self.record(failed, 3, &tracker, endpoint: 0, now: now)
        for _ in 0..<10 {
            _ = tracker.record(.passed, endpoint: 0, now: now)
            _ = tracker.record(failed, endpoint: 0, now: now)
        }
        #expect(tracker.status(of: 0) == .unhealthy)
    }

    @Test func uncheckedBecomesHealthyAfterTheHealthyThreshold() throws {
        let now = ManualClock().now
        var tracker = try Self.tracker(now: now)
        #expect(tracker.record(.passed, endpoint: 2, now: now) == nil)
        #expect(
            tracker.record(.passed, endpoint: 2, now: now)
                == HealthCheckTransition(endpoint: 2, from: .unchecked, to: .healthy, consecutiveChecks: 2, detail: nil)
        )
    }

    @Test func firstChecksAreSpreadOverOneInterval() throws {
        let now = ManualClock().now
        let tracker = try Self.tracker(endpoints: 16, now: now)
        var clock = ManualClock(start: now)
        var tracked = tracker
        var firstChecks: [Instant] = []
        while firstChecks.count < 16, let next = tracked.nextCheckTime {
            clock.advance(to: next)
            firstChecks += tracked.startDueChecks(now: clock.now).map { _ in clock.now }
        }
        #expect(firstChecks.count == 16)
        #expect(firstChecks.allSatisfy { $0 >= now && $0 < now + Self.configuration.interval })
        // Not in lockstep: 16 draws from 5 s of nanoseconds do not collide.
        #expect(Set(firstChecks).count == 16)
        // The same seed spreads the same way; another seed differently.
        let again = try Self.tracker(endpoints: 16, now: now)
        let other = try Self.tracker(endpoints: 16, seed: 7, now: now)
        #expect(again.nextCheckTime == tracker.nextCheckTime)
        #expect(other.nextCheckTime != tracker.nextCheckTime)
    }

    @Test func aRunningCheckIsNotStartedAgainAndTheNextComesOneIntervalAfterTheEnd() throws {
        var clock = ManualClock()
        var tracker = try Self.tracker(endpoints: 1, now: clock.now)
        let first = try #require(tracker.nextCheckTime)
        #expect(tracker.startDueChecks(now: first - .nanoseconds(1)).isEmpty)
        clock.advance(to: first)
        #expect(tracker.startDueChecks(now: clock.now) == [0])
        #expect(tracker.nextCheckTime == nil)
        clock.advance(by: .seconds(30))
        #expect(tracker.startDueChecks(now: clock.now).isEmpty)
        clock.advance(by: .milliseconds(300))
        _ = tracker.record(.passed, endpoint: 0, now: clock.now)
        #expect(tracker.nextCheckTime == clock.now + .seconds(5))
        #expect(tracker.startDueChecks(now: clock.now + .milliseconds(4999)).isEmpty)
        #expect(tracker.startDueChecks(now: clock.now + .seconds(5)) == [0])
    }

    @Test(arguments: [
        (HealthCheckConfiguration(timeout: .seconds(5)), "timeout"),
        (HealthCheckConfiguration(interval: .zero), "interval"),
        (HealthCheckConfiguration(timeout: .zero), "timeout"),
        (HealthCheckConfiguration(healthyThreshold: 0), "healthy_threshold"),
        (HealthCheckConfiguration(unhealthyThreshold: -1), "unhealthy_threshold"),
        (HealthCheckConfiguration(path: ""), "path"),
        (HealthCheckConfiguration(path: "/a b"), "path"),
    ])
    func invalidSettingsAreNamed(configuration: HealthCheckConfiguration, keyPath: String) {
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        do {
            try UpstreamPolicyConfiguration(healthCheck: configuration).validate()
            Issue.record("\(configuration) passed validation")
        } catch {
            #expect(error.keyPath == "health_check.\(keyPath)")
        }
    }
}
