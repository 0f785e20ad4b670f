/// One upstream's bulkhead: a number of slots (fixed, or set by an adaptive limit), a bounded queue with a deadline per entry, and
/// priorities (DESIGN.md, "Policy semantics", Bulkhead).
///
/// The rules:
/// - `CRITICAL` calls may use every slot; other calls hold at most `maxConcurrent - reservedCritical`
///   slots between them, so `reservedCritical` slots are kept for critical calls.
/// - `SHEDDABLE` calls never queue: admitted while a slot is free at once, otherwise rejected.
/// - A freed slot goes to the oldest waiting `CRITICAL` call, else to the oldest waiting `NORMAL` call if
///   the non-critical limit allows it, else it stays free (it was a reserved slot).
/// - A queued call waits until its queue deadline at most; the shell asks `popExpired(now:)` for those
///   whose deadline has been reached, at `nextQueueDeadline`.
/// - A full queue rejects new arrivals, whatever their priority (a critical call does not evict a
///   queued normal one).
/// - With an adaptive limit (`bulkhead.adaptive`), the shell moves `limit` with `setLimit(_:)`. A lower
///   limit takes no slot away: the calls holding one finish, and new calls wait until `inFlight` is
///   below the new limit. A higher one lets waiting calls in (`admitWaiting(now:)`).
///
/// The bulkhead is a value: it reads no clock and does no I/O. Every operation after `init` is
/// allocation-free: the queue lives in a slab of `maxQueue` entries allocated up front, threaded by
/// two intrusive FIFO lists (one per queueable priority) and an indexed min-heap of deadlines, so
/// enqueue, hand-off, cancel and expiry are O(1) or O(log n) and never search.
public struct Bulkhead: Sendable {
    /// The limits this bulkhead enforces.
    public let configuration: BulkheadConfiguration

    /// Calls holding a slot, all priorities.
    public private(set) var inFlight: Int = 0
    /// Calls holding a slot whose priority is not `CRITICAL`.
    public private(set) var inFlightNonCritical: Int = 0
    /// How many calls may hold a slot now: `maxConcurrent`, or the adaptive limit's latest value.
    public private(set) var limit: Int
    /// How many of the `limit` slots only `CRITICAL` calls may use now.
    public private(set) var reservedCritical: Int

    private var slots: ContiguousArray<QueueSlot>
    private var freeSlot: Int32
    private var deadlines: ContiguousArray<Int32>
    private var critical = QueueList()
    private var normal = QueueList()
    private var lastTicketID: UInt64 = 0

    /// A bulkhead enforcing `configuration`, which must be valid.
    public init(configuration: BulkheadConfiguration = .defaults) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.limit =
            configuration.adaptive?.initialLimit(maxConcurrent: configuration.maxConcurrent)
            ?? configuration.maxConcurrent
        self.reservedCritical = configuration.reservedCritical(atLimit: limit)
        let capacity = configuration.maxQueue
        self.slots = ContiguousArray()
        self.slots.reserveCapacity(capacity)
        for index in 0..<capacity {
            let next = index + 1 < capacity ? Int32(index + 1) : QueueSlot.none
            self.slots.append(QueueSlot(next: next))
        }
        self.freeSlot = capacity > 0 ? 0 : QueueSlot.none
        self.deadlines = ContiguousArray()
        self.deadlines.reserveCapacity(capacity)
    }

    // MARK: Gauges

    /// Calls waiting in the queue, all priorities.
    @inlinable
    public var queued: Int {
        queued(.critical) + queued(.normal)
    }

    /// Calls of `priority` waiting in the queue (always 0 for `SHEDDABLE`).
    public func queued(_ priority: Priority) -> Int {
        switch priority {
        case .critical: Int(critical.count)
        case .normal: Int(normal.count)
        case .sheddable: 0
        }
    }

    /// How many more calls of `priority` could be admitted right now without waiting.
    public func availableSlots(for priority: Priority) -> Int {
        let total = max(0, limit - inFlight)
        if priority == .critical { return total }
        return max(0, min(total, nonCriticalLimit - inFlightNonCritical))
    }

    /// The number of slots that calls other than `CRITICAL` may hold between them now.
    @inlinable
    public var nonCriticalLimit: Int {
        limit - reservedCritical
    }

    /// The earliest deadline among the queued calls: when the shell should next call
    /// `popExpired(now:)`. `nil` when the queue is empty.
    public var nextQueueDeadline: Instant? {
        guard let top = deadlines.first else { return nil }
        return slots[Int(top)].deadline
    }

    /// The queue deadline for a call arriving at `now`: `queue_timeout` from now, but never after the
    /// call's own deadline (DESIGN.md: "never longer than the call's deadline").
    @inlinable
    public func queueDeadline(callDeadline: Instant, now: Instant) -> Instant {
        min(now + configuration.queueTimeout, callDeadline)
    }

    // MARK: Events

    /// Asks for a slot for a call of `priority` arriving at `now`.
    ///
    /// - Parameter queueDeadline: the latest instant until which the call may wait for a slot (see
    ///   `queueDeadline(callDeadline:now:)`). A call that cannot wait (`queueDeadline <= now`) is only
    ///   admitted if a slot is free at once.
    public mutating func tryAcquire(priority: Priority, queueDeadline: Instant, now: Instant) -> Admission {
        if canAdmit(priority) {
            occupy(priority)
            return .admitted
        }
        if priority == .sheddable { return .rejected(.noFreeSlot) }
        if queueDeadline <= now { return .rejected(.noTimeToWait) }
        guard freeSlot != QueueSlot.none else { return .rejected(.queueFull) }
        return .queued(enqueue(priority: priority, deadline: queueDeadline))
    }

    /// A call of `priority` that held a slot has finished; returns the queued call that now holds the
    /// freed slot, if any.
    ///
    /// Queued calls whose deadline is reached (`<= now`) are passed over and left for
    /// `popExpired(now:)` to report.
    public mutating func release(priority: Priority, now: Instant) throws(BulkheadError) -> Ticket? {
        if priority == .critical {
            guard inFlight > inFlightNonCritical else { throw .releaseWithoutSlot(priority) }
        } else {
            guard inFlightNonCritical > 0 else { throw .releaseWithoutSlot(priority) }
            inFlightNonCritical -= 1
        }
        inFlight -= 1
        return admitWaiting(now: now)
    }

    /// Sets the number of slots (an adaptive limit moved); `limit` must be ≥ 1. Calls holding a slot
    /// keep it even when `inFlight` is now above the limit. After a rise, call `admitWaiting(now:)` until
    /// it returns nil, to hand the new slots to waiting calls.
    public mutating func setLimit(_ limit: Int) {
        precondition(limit >= 1, "a bulkhead needs at least one slot")
        self.limit = limit
        reservedCritical = configuration.reservedCritical(atLimit: limit)
    }

    /// Gives a free slot to the oldest waiting `CRITICAL` call, else to the oldest waiting `NORMAL` call
    /// if the non-critical limit allows it; returns its ticket, or nil when no slot or no live waiter.
    public mutating func admitWaiting(now: Instant) -> Ticket? {
        if canAdmit(.critical), let index = firstLive(in: critical, now: now) {
            occupy(.critical)
            return dequeue(index)
        }
        if canAdmit(.normal), let index = firstLive(in: normal, now: now) {
            occupy(.normal)
            return dequeue(index)
        }
        return nil
    }

    /// Removes a queued call (its caller gave up); returns whether it was still queued. A ticket that
    /// was already handed a slot, expired or cancelled is left alone.
    public mutating func cancel(_ ticket: Ticket) -> Bool {
        guard isQueued(ticket) else { return false }
        _ = dequeue(ticket.slot)
        return true
    }

    /// Whether `ticket` is still waiting in the queue.
    public func isQueued(_ ticket: Ticket) -> Bool {
        let index = Int(ticket.slot)
        return index >= 0 && index < slots.count && slots[index].ticketID == ticket.id
    }

    /// Removes and returns one queued call whose deadline has been reached (`<= now`), earliest first;
    /// `nil` when there is none. Call it in a loop at `nextQueueDeadline`.
    public mutating func popExpired(now: Instant) -> Ticket? {
        guard let top = deadlines.first, slots[Int(top)].deadline <= now else { return nil }
        return dequeue(top)
    }

    // MARK: Slots

    private func canAdmit(_ priority: Priority) -> Bool {
        if inFlight >= limit { return false }
        return priority == .critical || inFlightNonCritical < nonCriticalLimit
    }

    private mutating func occupy(_ priority: Priority) {
        inFlight += 1
        if priority != .critical { inFlightNonCritical += 1 }
    }

    // MARK: Queue

    private mutating func enqueue(priority: Priority, deadline: Instant) -> Ticket {
        let index = freeSlot
        let i = Int(index)
        freeSlot = slots[i].next
        lastTicketID += 1
        slots[i] = QueueSlot(
            ticketID: lastTicketID,
            deadline: deadline,
            priority: priority,
            previous: QueueSlot.none,
            next: QueueSlot.none,
            heapIndex: Int32(deadlines.count)
        )
        if priority == .critical {
            QueueList.append(index, to: &critical, in: &slots)
        } else {
            QueueList.append(index, to: &normal, in: &slots)
        }
        deadlines.append(index)
        siftUp(deadlines.count - 1)
        return Ticket(id: lastTicketID, priority: priority, slot: index)
    }

    /// The first entry of `list` whose deadline is after `now`.
    private func firstLive(in list: QueueList, now: Instant) -> Int32? {
        var index = list.head
        while index != QueueSlot.none {
            let slot = slots[Int(index)]
            if slot.deadline > now { return index }
            index = slot.next
        }
        return nil
    }

    /// Takes the entry at `index` out of its list and the heap, frees its slot, and returns its ticket.
    private mutating func dequeue(_ index: Int32) -> Ticket {
        let slot = slots[Int(index)]
        if slot.priority == .critical {
            QueueList.unlink(index, from: &critical, in: &slots)
        } else {
            QueueList.unlink(index, from: &normal, in: &slots)
        }
        removeFromHeap(at: Int(slot.heapIndex))
        slots[Int(index)] = QueueSlot(next: freeSlot)
        freeSlot = index
        return Ticket(id: slot.ticketID, priority: slot.priority, slot: index)
    }

    // MARK: Deadline heap (min-heap on (deadline, ticket id), each slot knowing its heap position)

    private func heapLess(_ a: Int, _ b: Int) -> Bool {
        let lhs = slots[Int(deadlines[a])]
        let rhs = slots[Int(deadlines[b])]
        if lhs.deadline != rhs.deadline { return lhs.deadline < rhs.deadline }
        return lhs.ticketID < rhs.ticketID
    }

    private mutating func heapSwap(_ a: Int, _ b: Int) {
        deadlines.swapAt(a, b)
        slots[Int(deadlines[a])].heapIndex = Int32(a)
        slots[Int(deadlines[b])].heapIndex = Int32(b)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heapLess(child, parent) else { return }
            heapSwap(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = deadlines.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            let right = left + 1
            let smaller = right < count && heapLess(right, left) ? right : left
            guard heapLess(smaller, parent) else { return }
            heapSwap(smaller, parent)
            parent = smaller
        }
    }

    private mutating func removeFromHeap(at position: Int) {
        let last = deadlines.count - 1
        if position != last {
            heapSwap(position, last)
        }
        deadlines.removeLast()
        if position < deadlines.count {
            siftDown(position)
            siftUp(position)
        }
    }
}

extension Bulkhead {
    /// What `tryAcquire` decided.
    public enum Admission: Hashable, Sendable {
        /// The call holds a slot now; it must `release` it when the logical call ends.
        case admitted
        /// The call waits in the queue. The shell learns it holds a slot when `release` returns this
        /// ticket; it must `cancel` it if the caller gives up, and it is reported by `popExpired` when
        /// its queue deadline is reached.
        case queued(Ticket)
        /// The call was not admitted and is not waiting.
        case rejected(Rejection)
    }

    /// Why a call was turned away; the agent answers `BULKHEAD_FULL` with this as its detail.
    public enum Rejection: Hashable, Sendable, CustomStringConvertible {
        /// A `SHEDDABLE` call found no free slot; sheddable calls never queue (DESIGN.md).
        case noFreeSlot
        /// No slot was free and the queue already holds `max_queue` calls.
        case queueFull
        /// No slot was free and the call's queue deadline was already reached, so it could not wait
        /// (`queue_timeout` 0, or a call deadline already spent).
        case noTimeToWait

        public var description: String {
            switch self {
            case .noFreeSlot: "no free slot for a sheddable call"
            case .queueFull: "bulkhead queue full"
            case .noTimeToWait: "no free slot and no time left to wait for one"
            }
        }
    }

    /// A queued call's place in the queue: an opaque, unique identity (a counter) plus the call's
    /// priority.
    public struct Ticket: Hashable, Sendable, CustomStringConvertible {
        /// A number unique among the tickets of this bulkhead, increasing in arrival order.
        public let id: UInt64
        /// The priority the call was queued with, which it keeps when it gets its slot.
        public let priority: Priority
        /// Where the entry lives in the slab (checked against `id` before use).
        let slot: Int32

        init(id: UInt64, priority: Priority, slot: Int32) {
            self.id = id
            self.priority = priority
            self.slot = slot
        }

        public var description: String {
            "Ticket(\(id), \(priority))"
        }
    }
}

/// A use of the bulkhead that cannot happen when the shell keeps its books right.
public enum BulkheadError: Error, Hashable, Sendable {
    /// `release` was called for a priority class that holds no slot.
    case releaseWithoutSlot(Priority)
}

/// One entry of the queue slab: a queued call, or a free entry on the free list (`ticketID == 0`).
private struct QueueSlot {
    static let none: Int32 = -1

    var ticketID: UInt64 = 0
    var deadline: Instant = .distantFuture
    var priority: Priority = .normal
    var previous: Int32 = QueueSlot.none
    var next: Int32 = QueueSlot.none
    var heapIndex: Int32 = QueueSlot.none
}

/// The head and tail of one priority's FIFO list through the slab.
private struct QueueList {
    var head: Int32 = QueueSlot.none
    var tail: Int32 = QueueSlot.none
    var count: Int32 = 0

    static func append(_ index: Int32, to list: inout QueueList, in slots: inout ContiguousArray<QueueSlot>) {
        slots[Int(index)].previous = list.tail
        if list.tail != QueueSlot.none {
            slots[Int(list.tail)].next = index
        } else {
            list.head = index
        }
        list.tail = index
        list.count += 1
    }

    static func unlink(_ index: Int32, from list: inout QueueList, in slots: inout ContiguousArray<QueueSlot>) {
        let slot = slots[Int(index)]
        if slot.previous != QueueSlot.none {
            slots[Int(slot.previous)].next = slot.next
        } else {
            list.head = slot.next
        }
        if slot.next != QueueSlot.none {
            slots[Int(slot.next)].previous = slot.previous
        } else {
            list.tail = slot.previous
        }
        list.count -= 1
    }
}
