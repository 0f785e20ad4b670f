import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct OutlierDetectorTests {
    private static let failure = AttemptOutcome.failure(.httpStatus(503))

    private static func detector(
        endpoints: Int = 4,
        consecutiveFailures: Int = 3,
        maxEjectionPercent: Int = 50
    ) throws -> OutlierDetector {
        try OutlierDetector(
            configuration: OutlierDetectionConfiguration(
                consecutiveFailures: consecutiveFailures,
                baseEjectionTime: .seconds(30),
                maxEjectionTime: .seconds(100),
                maxEjectionPercent: maxEjectionPercent,
                interval: .seconds(10)
            ),
            endpointCount: endpoints
        )
    }

    /// Records `count` failures at `endpoint` and returns the last event.
    private static func fail(
        _ detector: inout OutlierDetector,
        endpoint: Int,
        count: Int,
        now: Instant
    ) -> OutlierEvent? {
        var last: OutlierEvent?
        for _ in 0..<count { last = detector.record(endpoint: endpoint, outcome: failure, now: now) }
        return last
    }

    @Test func ejectsAfterConsecutiveFailures() throws {
        let now = ManualClock().now
        var detector = try Self.detector()
        #expect(Self.fail(&detector, endpoint: 1, count: 2, now: now) == nil)
        #expect(!detector.isEjected(1, now: now))
        let event = detector.record(endpoint: 1, outcome: Self.failure, now: now)
        #expect(event == OutlierEvent(endpoint: 1, kind: .ejected(until: now + .seconds(30), multiplier: 1)))
        #expect(detector.isEjected(1, now: now))
        #expect(!detector.isAvailable(1, now: now))
        #expect(detector.availableEndpoints(now: now) == EndpointSet([0, 2, 3]))
        #expect(detector.ejectedCount == 1)
    }

    @Test func successResetsTheCountAndIgnoredChangesNothing() throws {
        let now = ManualClock().now
        var detector = try Self.detector()
        _ = Self.fail(&detector, endpoint: 0, count: 2, now: now)
        #expect(detector.record(endpoint: 0, outcome: .ignored, now: now) == nil)
        #expect(detector.snapshot(of: 0, now: now).consecutiveFailures == 2)
        #expect(detector.record(endpoint: 0, outcome: .success, now: now) == nil)
        #expect(Self.fail(&detector, endpoint: 0, count: 2, now: now) == nil)
        #expect(!detector.isEjected(0, now: now))
    }

    @Test func restoresWhenTheEjectionTimeHasPassed() throws {
        var clock = ManualClock()
        var detector = try Self.detector()
        _ = Self.fail(&detector, endpoint: 2, count: 3, now: clock.now)
        #expect(detector.nextRestoreTime == clock.now + .seconds(30))
        clock.advance(by: .seconds(29))
        #expect(detector.restoreDue(now: clock.now) == nil)
        clock.advance(by: .seconds(1))
        #expect(!detector.isEjected(2, now: clock.now))
        #expect(detector.restoreDue(now: clock.now) == OutlierEvent(endpoint: 2, kind: .restored))
        #expect(detector.restoreDue(now: clock.now) == nil)
        #expect(detector.nextRestoreTime == nil)
        #expect(detector.ejectedCount == 0)
        #expect(detector.snapshot(of: 2, now: clock.now).consecutiveFailures == 0)
    }

    @Test func ejectionTimeGrowsWithEachEjectionUpToTheCap() throws {
        var clock = ManualClock()
        var detector = try Self.detector()
        var durations: [Duration] = []
        for _ in 0..<5 {
            guard case .ejected(let until, _) = Self.fail(&detector, endpoint: 0, count: 3, now: clock.now)?.kind
            else {
                Issue.record("not ejected")
                return
            }
            durations.append(until - clock.now)
            clock.advance(to: until)
            #expect(detector.restoreDue(now: clock.now)?.kind == .restored)
        }
        // base 30 s × 1, 2, 3, then capped at max_ejection_time 100 s.
        #expect(durations == [.seconds(30), .seconds(60), .seconds(90), .seconds(100), .seconds(100)])
        #expect(detector.snapshot(of: 0, now: clock.now).ejections == 5)
    }

    @Test func multiplierDecaysOneStepPerHealthyInterval() throws {
        var clock = ManualClock()
        var detector = try Self.detector()
        for _ in 0..<3 {
            _ = Self.fail(&detector, endpoint: 0, count: 3, now: clock.now)
            clock.advance(to: detector.nextRestoreTime!)
            _ = detector.restoreDue(now: clock.now)
        }
        #expect(detector.snapshot(of: 0, now: clock.now).multiplier == 3)
        clock.advance(by: .seconds(25))  // two whole intervals of 10 s
        #expect(detector.snapshot(of: 0, now: clock.now).multiplier == 1)
        let event = Self.fail(&detector, endpoint: 0, count: 3, now: clock.now)
        #expect(event?.kind == .ejected(until: clock.now + .seconds(60), multiplier: 2))
    }

    @Test(arguments: [
        // (endpoints, max_ejection_percent, how many of them may be ejected at once)
        (4, 50, 2),
        (2, 50, 1),
        (1, 50, 0),
        (10, 10, 1),
        (5, 0, 0),
        (3, 100, 3),
    ])
    func maxEjectionPercentCapsTheEjectedShare(endpoints: Int, percent: Int, allowed: Int) throws {
        let now = ManualClock().now
        var detector = try Self.detector(endpoints: endpoints, maxEjectionPercent: percent)
        var ejected = 0
        for endpoint in 0..<endpoints {
            switch Self.fail(&detector, endpoint: endpoint, count: 3, now: now)?.kind {
            case .ejected: ejected += 1
            case .ejectionSkipped: #expect(ejected == allowed)
            default: Issue.record("no event for endpoint \(endpoint)")
            }
        }
        #expect(ejected == allowed)
        #expect(detector.ejectedCount == allowed)
    }

    @Test func failuresWhileEjectedAreIgnored() throws {
        let now = ManualClock().now
        var detector = try Self.detector()
        _ = Self.fail(&detector, endpoint: 0, count: 3, now: now)
        #expect(Self.fail(&detector, endpoint: 0, count: 10, now: now) == nil)
        #expect(detector.snapshot(of: 0, now: now).ejections == 1)
    }

    @Test func healthChecksMarkAndRestoreEndpoints() throws {
        let now = ManualClock().now
        var detector = try Self.detector()
        #expect(detector.recordHealthCheck(endpoint: 3, passed: false, now: now)?.kind == .failedHealthCheck)
        #expect(detector.recordHealthCheck(endpoint: 3, passed: false, now: now) == nil)
        #expect(!detector.isAvailable(3, now: now))
        #expect(!detector.isEjected(3, now: now))
        #expect(detector.recordHealthCheck(endpoint: 3, passed: true, now: now)?.kind == .passedHealthCheck)
        #expect(detector.isAvailable(3, now: now))

        // A passing health check ends an outlier ejection (Envoy's successful_active_health_check_uneject_host).
        _ = Self.fail(&detector, endpoint: 1, count: 3, now: now)
        #expect(detector.recordHealthCheck(endpoint: 1, passed: true, now: now)?.kind == .restored)
        #expect(detector.isAvailable(1, now: now))
        #expect(detector.ejectedCount == 0)
    }

    @Test func defaultsFollowTheDesign() {
        let defaults = OutlierDetectionConfiguration.defaults
        #expect(defaults.consecutiveFailures == 5)
        #expect(defaults.baseEjectionTime == .seconds(30))
        #expect(defaults.maxEjectionTime == .seconds(300))
        #expect(defaults.maxEjectionPercent == 50)
    }

    @Test(arguments: [
        (OutlierDetectionConfiguration(consecutiveFailures: 0), "consecutive_failures: expected an integer ≥ 1, got 0"),
        (OutlierDetectionConfiguration(baseEjectionTime: .zero), "base_ejection_time: expected a duration > 0, got 0s"),
        (
            OutlierDetectionConfiguration(maxEjectionTime: .seconds(10)),
            "max_ejection_time: expected a duration ≥ base_ejection_time (30s), got 10s"
        ),
        (
            OutlierDetectionConfiguration(maxEjectionPercent: 101),
            "max_ejection_percent: expected an integer between 0 and 100, got 101"
        ),
        (OutlierDetectionConfiguration(interval: .zero), "interval: expected a duration > 0, got 0s"),
    ])
    func validationNamesTheKeyAndValue(configuration: OutlierDetectionConfiguration, message: String) {
        #expect {
            try configuration.validate()
        } throws: { error in
            (error as? ConfigurationError)?.description == message
        }
    }
}
