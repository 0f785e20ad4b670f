import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct DeadlineTests {
    let clock = ManualClock()

    @Test func earliestOfManyIsTheSoonest() {
        let app = Deadline.after(.seconds(3), from: clock.now)
        let grpc = Deadline.after(.seconds(2), from: clock.now)
        let total = Deadline.after(.seconds(5), from: clock.now)
        #expect(Deadline.earliest(of: app, grpc, total) == grpc)
        #expect(Deadline.earliest(of: app, .none) == app)
        #expect(Deadline.earliest(of: .none, .none).isNone)
        #expect(app.earliest(grpc) == grpc)
        #expect(min(app, total) == app)
    }

    @Test func missingTimeoutsAreNoDeadline() {
        #expect(Deadline.after(nil, from: clock.now) == .none)
        #expect(Deadline.after(.seconds(Int64.max), from: clock.now).instant == .distantFuture)
    }

    @Test func remainingIsNeverNegative() {
        var clock = clock
        let deadline = Deadline.after(.milliseconds(100), from: clock.now)
        #expect(deadline.remaining(now: clock.now) == .milliseconds(100))
        #expect(!deadline.isExpired(now: clock.now))
        clock.advance(by: .milliseconds(100))
        #expect(deadline.remaining(now: clock.now) == .zero)
        #expect(deadline.isExpired(now: clock.now))
        clock.advance(by: .seconds(1))
        #expect(deadline.remaining(now: clock.now) == .zero)
    }

    @Test func noDeadlineNeverExpires() {
        #expect(!Deadline.none.isExpired(now: Instant(nanoseconds: .max - 1)))
        #expect(Deadline.none.remaining(now: clock.now) == .nanoseconds(Int64.max))
    }

    @Test(arguments: [
        (Duration.seconds(2), Duration?.some(.seconds(5)), Duration.seconds(2)),
        (.seconds(2), .some(.milliseconds(300)), .milliseconds(300)),
        (.seconds(2), nil, .seconds(2)),
        (.seconds(2), .some(.zero), .zero),
        (.zero, .some(.seconds(1)), .zero),
    ])
    func attemptTimeoutIsTheSmallerOfConfiguredAndRemaining(
        configured: Duration,
        timeout: Duration?,
        expected: Duration
    ) {
        let deadline = Deadline.after(timeout, from: clock.now)
        #expect(deadline.attemptTimeout(configured: configured, now: clock.now) == expected)
    }

    @Test func attemptTimeoutAfterTheDeadlineIsZero() {
        let deadline = Deadline.after(.seconds(1), from: clock.now)
        #expect(deadline.attemptTimeout(configured: .seconds(2), now: clock.now + .seconds(3)) == .zero)
    }

    @Test(arguments: [
        (Duration.milliseconds(1500), "1500"),
        (.microseconds(2_999), "2"),
        (.microseconds(999), "0"),
        (.zero, "0"),
        (.seconds(-1), "0"),
    ])
    func leveeTimeoutHeaderRoundsDown(remaining: Duration, expected: String) {
        #expect(LeveeTimeoutHeader.value(remaining: remaining) == expected)
    }

    @Test(arguments: [
        ("1500", Duration?.some(.milliseconds(1500))),
        ("0", .some(.zero)),
        ("", nil),
        ("-5", nil),
        ("1.5", nil),
        ("12ms", nil),
        ("1234567890123456789", nil),
    ])
    func leveeTimeoutHeaderParses(value: String, expected: Duration?) {
        #expect(LeveeTimeoutHeader.parse(value) == expected)
    }
}
