import LeveePolicy
import LeveeTestKit
import Testing

@Suite struct BulkheadTests {
    private static func bulkhead(
        maxConcurrent: Int = 4,
        maxQueue: Int = 4,
        queueTimeout: Duration = .milliseconds(100),
        reservedCritical: Int = 1
    ) throws -> Bulkhead {
        try Bulkhead(
            configuration: BulkheadConfiguration(
                maxConcurrent: maxConcurrent,
                maxQueue: maxQueue,
                queueTimeout: queueTimeout,
                reservedCritical: reservedCritical
            )
        )
    }

    private static func ticket(_ admission: Bulkhead.Admission) -> Bulkhead.Ticket? {
        if case .queued(let ticket) = admission { return ticket }
        return nil
    }

    @Test func admitsUpToTheNonCriticalLimitThenQueues() throws {
        let clock = ManualClock()
        var bulkhead = try Self.bulkhead()
        let deadline = bulkhead.queueDeadline(callDeadline: .distantFuture, now: clock.now)
        for _ in 0..<3 {
            #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: clock.now) == .admitted)
        }
        #expect(bulkhead.availableSlots(for: .normal) == 0)
        #expect(bulkhead.availableSlots(for: .critical) == 1)
        let queued = bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: clock.now)
        #expect(Self.ticket(queued) != nil)
        #expect(bulkhead.inFlight == 3)
        #expect(bulkhead.queued == 1)
        #expect(bulkhead.queued(.normal) == 1)
    }

    @Test func criticalTakesTheReservedSlotAndNormalCannot() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead(maxConcurrent: 2, maxQueue: 0, reservedCritical: 1)
        let deadline = now + .seconds(1)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .admitted)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .rejected(.queueFull))
        #expect(bulkhead.tryAcquire(priority: .critical, queueDeadline: deadline, now: now) == .admitted)
        #expect(bulkhead.tryAcquire(priority: .critical, queueDeadline: deadline, now: now) == .rejected(.queueFull))
        #expect(bulkhead.inFlight == 2)
        #expect(bulkhead.inFlightNonCritical == 1)
    }

    @Test func criticalMayUseEverySlot() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead(maxConcurrent: 3, maxQueue: 0, reservedCritical: 2)
        for _ in 0..<3 {
            #expect(bulkhead.tryAcquire(priority: .critical, queueDeadline: now, now: now) == .admitted)
        }
        #expect(bulkhead.tryAcquire(priority: .critical, queueDeadline: now, now: now) == .rejected(.noTimeToWait))
    }

    @Test func sheddableIsNeverQueued() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead(maxConcurrent: 2, maxQueue: 8, reservedCritical: 1)
        let deadline = now + .seconds(1)
        #expect(bulkhead.tryAcquire(priority: .sheddable, queueDeadline: deadline, now: now) == .admitted)
        #expect(bulkhead.tryAcquire(priority: .sheddable, queueDeadline: deadline, now: now) == .rejected(.noFreeSlot))
        #expect(bulkhead.queued == 0)
    }

    @Test func freedSlotGoesToQueuedCriticalFirstThenFIFOWithinPriority() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead(maxConcurrent: 1, maxQueue: 8, reservedCritical: 0)
        let deadline = now + .seconds(1)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .admitted)
        let normal1 = try #require(
            Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now))
        )
        let critical1 = try #require(
            Self.ticket(bulkhead.tryAcquire(priority: .critical, queueDeadline: deadline, now: now))
        )
        let normal2 = try #require(
            Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now))
        )
        let critical2 = try #require(
            Self.ticket(bulkhead.tryAcquire(priority: .critical, queueDeadline: deadline, now: now))
        )
        #expect(bulkhead.queued(.critical) == 2)

        var order: [Bulkhead.Ticket] = []
        var releasing = Priority.normal
        while let next = try bulkhead.release(priority: releasing, now: now) {
            order.append(next)
            releasing = next.priority
        }
        #expect(order == [critical1, critical2, normal1, normal2])
        #expect(bulkhead.inFlight == 0)
        #expect(bulkhead.queued == 0)
    }

    @Test func releasedReservedSlotIsNotHandedToANormalCall() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead(maxConcurrent: 2, maxQueue: 4, reservedCritical: 1)
        let deadline = now + .seconds(1)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .admitted)
        #expect(bulkhead.tryAcquire(priority: .critical, queueDeadline: deadline, now: now) == .admitted)
        let normal = try #require(
            Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now))
        )
        #expect(try bulkhead.release(priority: .critical, now: now) == nil)
        #expect(bulkhead.isQueued(normal))
        #expect(try bulkhead.release(priority: .normal, now: now) == normal)
        #expect(bulkhead.inFlightNonCritical == 1)
    }

    @Test func queueIsBounded() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead(maxConcurrent: 1, maxQueue: 2, reservedCritical: 0)
        let deadline = now + .seconds(1)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .admitted)
        #expect(Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now)) != nil)
        #expect(Self.ticket(bulkhead.tryAcquire(priority: .critical, queueDeadline: deadline, now: now)) != nil)
        #expect(bulkhead.tryAcquire(priority: .critical, queueDeadline: deadline, now: now) == .rejected(.queueFull))
        #expect(bulkhead.queued == 2)
    }

    @Test func queuedEntriesExpireByDeadlineEarliestFirst() throws {
        var clock = ManualClock()
        var bulkhead = try Self.bulkhead(
            maxConcurrent: 1,
            maxQueue: 4,
            queueTimeout: .milliseconds(100),
            reservedCritical: 0
        )
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: .distantFuture, now: clock.now) == .admitted)
        let late = try #require(
            Self.ticket(
                bulkhead.tryAcquire(
                    priority: .normal,
                    queueDeadline: bulkhead.queueDeadline(callDeadline: .distantFuture, now: clock.now),
                    now: clock.now
                )
            )
        )
        // A call whose own deadline is sooner than queue_timeout waits only until its deadline.
        let callDeadline = clock.now + .milliseconds(30)
        #expect(bulkhead.queueDeadline(callDeadline: callDeadline, now: clock.now) == callDeadline)
        let early = try #require(
            Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: callDeadline, now: clock.now))
        )
        #expect(bulkhead.nextQueueDeadline == callDeadline)

        clock.advance(by: .milliseconds(29))
        #expect(bulkhead.popExpired(now: clock.now) == nil)
        clock.advance(by: .milliseconds(1))
        #expect(bulkhead.popExpired(now: clock.now) == early)
        #expect(bulkhead.popExpired(now: clock.now) == nil)
        #expect(bulkhead.nextQueueDeadline == clock.now + .milliseconds(70))
        clock.advance(by: .milliseconds(70))
        #expect(bulkhead.popExpired(now: clock.now) == late)
        #expect(bulkhead.nextQueueDeadline == nil)
        #expect(bulkhead.queued == 0)
    }

    @Test func releasePassesOverExpiredEntriesAndLeavesThemToBeReported() throws {
        var clock = ManualClock()
        var bulkhead = try Self.bulkhead(maxConcurrent: 1, maxQueue: 4, reservedCritical: 0)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: .distantFuture, now: clock.now) == .admitted)
        let stale = try #require(
            Self.ticket(
                bulkhead.tryAcquire(priority: .normal, queueDeadline: clock.now + .milliseconds(10), now: clock.now)
            )
        )
        let fresh = try #require(
            Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: clock.now + .seconds(1), now: clock.now))
        )
        clock.advance(by: .milliseconds(10))
        #expect(try bulkhead.release(priority: .normal, now: clock.now) == fresh)
        #expect(bulkhead.popExpired(now: clock.now) == stale)
    }

    @Test func aCallThatCannotWaitIsRejectedWhenNoSlotIsFree() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead(maxConcurrent: 1, maxQueue: 4, queueTimeout: .zero, reservedCritical: 0)
        let deadline = bulkhead.queueDeadline(callDeadline: .distantFuture, now: now)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .admitted)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .rejected(.noTimeToWait))
    }

    @Test func cancelRemovesAQueuedEntryOnce() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead(maxConcurrent: 1, maxQueue: 4, reservedCritical: 0)
        let deadline = now + .seconds(1)
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now) == .admitted)
        let first = try #require(Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now)))
        let second = try #require(
            Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now))
        )
        #expect(bulkhead.cancel(first) == true)
        #expect(bulkhead.cancel(first) == false)
        #expect(bulkhead.queued == 1)
        #expect(try bulkhead.release(priority: .normal, now: now) == second)
        #expect(bulkhead.cancel(second) == false)
        // The cancelled entry's storage is reused by a new ticket, which the old one must not reach.
        let third = try #require(Self.ticket(bulkhead.tryAcquire(priority: .normal, queueDeadline: deadline, now: now)))
        #expect(bulkhead.cancel(first) == false)
        #expect(bulkhead.isQueued(third))
        #expect(third.id > second.id)
    }

    @Test func releasingWithoutASlotIsAnError() throws {
        let now = ManualClock().now
        var bulkhead = try Self.bulkhead()
        #expect(throws: BulkheadError.releaseWithoutSlot(.normal)) {
            try bulkhead.release(priority: .normal, now: now)
        }
        #expect(bulkhead.tryAcquire(priority: .normal, queueDeadline: now, now: now) == .admitted)
        #expect(throws: BulkheadError.releaseWithoutSlot(.critical)) {
            try bulkhead.release(priority: .critical, now: now)
        }
    }

    @Test func defaultsMatchTheDesign() throws {
        let defaults = BulkheadConfiguration.defaults
        #expect(defaults.maxConcurrent == 64)
        #expect(defaults.maxQueue == 128)
        #expect(defaults.queueTimeout == .milliseconds(100))
        #expect(defaults.reservedCritical == 8)
        try defaults.validate()
        let bulkhead = try Bulkhead()
        #expect(bulkhead.availableSlots(for: .normal) == 56)
        #expect(bulkhead.availableSlots(for: .critical) == 64)
    }

    @Test(arguments: [
        (
            BulkheadConfiguration(maxConcurrent: 0, reservedCritical: 0),
            "max_concurrent: expected an integer ≥ 1, got 0"
        ),
        (
            BulkheadConfiguration(maxQueue: -1),
            "max_queue: expected an integer between 0 and 1048576, got -1"
        ),
        (
            BulkheadConfiguration(queueTimeout: .milliseconds(-5)),
            "queue_timeout: expected a duration ≥ 0, got -5ms"
        ),
        (
            BulkheadConfiguration(maxConcurrent: 8, reservedCritical: 8),
            "reserved_critical: expected an integer ≥ 0 and less than max_concurrent (8), got 8"
        ),
        (
            BulkheadConfiguration(reservedCritical: -1),
            "reserved_critical: expected an integer ≥ 0 and less than max_concurrent (64), got -1"
        ),
    ])
    func validationNamesTheKeyAndValue(configuration: BulkheadConfiguration, message: String) {
        #expect {
            try configuration.validate()
        } throws: { error in
            (error as? ConfigurationError)?.description == message
        }
        #expect(throws: ConfigurationError.self) { try Bulkhead(configuration: configuration) }
    }
}
