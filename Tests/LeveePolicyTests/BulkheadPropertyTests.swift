import LeveePolicy
import LeveeTestKit
import PropertyBased
import Testing

/// Random interleavings of acquire, release, cancel, expiry and time, checked step by step against a
/// model of what the bulkhead holds.
@Suite struct BulkheadPropertyTests {
    /// One step: the operation is `code % 5`, the rest of `code` picks its arguments.
    private static let steps = Gen.int(in: 0...1_000_000).array(of: 1...300)

    @Test func limitsQueueBoundAndReservedSlotsHoldUnderRandomInterleavings() async {
        await propertyCheck(
            count: 300,
            input: Self.steps,
            Gen.int(in: 1...6),
            Gen.int(in: 0...5),
            Gen.int(in: 0...5)
        ) { steps, maxConcurrent, maxQueue, reserved in
            let configuration = BulkheadConfiguration(
                maxConcurrent: maxConcurrent,
                maxQueue: maxQueue,
                queueTimeout: .milliseconds(100),
                reservedCritical: min(reserved, maxConcurrent - 1)
            )
            var model = Model()
            var bulkhead = try Bulkhead(configuration: configuration)
            var clock = ManualClock()
            for code in steps {
                try Self.apply(code, to: &bulkhead, model: &model, clock: &clock)
                Self.checkInvariants(bulkhead, model: model, now: clock.now)
            }
        }
    }

    private struct Model {
        var held: [Priority: Int] = [:]
        var queued: [Bulkhead.Ticket: Instant] = [:]
        var gone: [Bulkhead.Ticket] = []

        var inFlight: Int { held.values.reduce(0, +) }
        var inFlightNonCritical: Int { (held[.normal] ?? 0) + (held[.sheddable] ?? 0) }

        func isLive(_ priority: Priority, now: Instant) -> Bool {
            queued.contains { $0.key.priority == priority && $0.value > now }
        }
    }

    private static func apply(
        _ code: Int,
        to bulkhead: inout Bulkhead,
        model: inout Model,
        clock: inout ManualClock
    ) throws {
        let argument = code / 5
        switch code % 5 {
        case 0:
            let priority = Priority.allCases[argument % 3]
            let wait = Duration.milliseconds(argument / 3 % 150)
            let deadline = bulkhead.queueDeadline(callDeadline: clock.now + wait, now: clock.now)
            switch bulkhead.tryAcquire(priority: priority, queueDeadline: deadline, now: clock.now) {
            case .admitted:
                model.held[priority, default: 0] += 1
            case .queued(let ticket):
                #expect(priority != .sheddable, "a sheddable call was queued")
                #expect(ticket.priority == priority)
                #expect(model.queued[ticket] == nil)
                model.queued[ticket] = deadline
            case .rejected(let reason):
                if reason == .noFreeSlot { #expect(priority == .sheddable) }
                if reason == .queueFull { #expect(model.queued.count == bulkhead.configuration.maxQueue) }
            }
        case 1:
            let holding = Priority.allCases.filter { (model.held[$0] ?? 0) > 0 }
            guard !holding.isEmpty else {
                #expect(throws: BulkheadError.self) { try bulkhead.release(priority: .critical, now: clock.now) }
                return
            }
            let priority = holding[argument % holding.count]
            model.held[priority]! -= 1
            if let next = try bulkhead.release(priority: priority, now: clock.now) {
                let removed = model.queued.removeValue(forKey: next)
                let deadline = try #require(removed, "handed an unknown ticket")
                #expect(deadline > clock.now, "handed a slot to an expired entry")
                model.held[next.priority, default: 0] += 1
                model.gone.append(next)
            }
        case 2:
            if !model.queued.isEmpty && argument % 4 != 0 {
                let ticket = model.queued.keys.sorted { $0.id < $1.id }[argument % model.queued.count]
                #expect(bulkhead.cancel(ticket) == true)
                model.queued[ticket] = nil
                model.gone.append(ticket)
            } else if !model.gone.isEmpty {
                #expect(bulkhead.cancel(model.gone[argument % model.gone.count]) == false)
            }
        case 3:
            while let expired = bulkhead.popExpired(now: clock.now) {
                let removed = model.queued.removeValue(forKey: expired)
                let deadline = try #require(removed, "expired an unknown ticket")
                #expect(deadline <= clock.now)
                model.gone.append(expired)
            }
            #expect(model.queued.values.allSatisfy { $0 > clock.now })
            #expect(bulkhead.nextQueueDeadline == model.queued.values.min())
        default:
            clock.advance(by: .milliseconds(argument % 60))
        }
    }

    private static func checkInvariants(_ bulkhead: Bulkhead, model: Model, now: Instant) {
        let configuration = bulkhead.configuration
        #expect(bulkhead.inFlight <= configuration.maxConcurrent)
        #expect(bulkhead.inFlightNonCritical <= configuration.maxConcurrent - configuration.reservedCritical)
        #expect(bulkhead.queued <= configuration.maxQueue)
        #expect(bulkhead.inFlight == model.inFlight)
        #expect(bulkhead.inFlightNonCritical == model.inFlightNonCritical)
        #expect(bulkhead.queued == model.queued.count)
        #expect(bulkhead.queued(.sheddable) == 0)
        #expect(bulkhead.queued(.critical) == model.queued.keys.count { $0.priority == .critical })
        // A call that may still wait never waits while a slot it could use is free.
        if model.isLive(.critical, now: now) { #expect(bulkhead.availableSlots(for: .critical) == 0) }
        if model.isLive(.normal, now: now) { #expect(bulkhead.availableSlots(for: .normal) == 0) }
    }
}
