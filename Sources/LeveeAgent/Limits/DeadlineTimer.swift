import NIOCore

/// The one timer of a connection, for deadlines that move on every request (idle, read): it never
/// has to be cancelled or moved as they do, so a busy connection costs no timer work per request.
///
/// It is armed for at most `period` ahead (the shortest timeout in use): a deadline set later, which
/// lies at least `period` ahead, is never earlier than the armed time. When it fires, the owner's
/// current deadline decides: due, expire; later, arm again; none (busy), stay unarmed until the next
/// ``arm(for:)``. An idle connection so wakes once per `period` until its idle deadline.
struct DeadlineTimer {
    let period: TimeAmount
    private var scheduled: Scheduled<Void>?

    init(period: TimeAmount) {
        self.period = period
    }

    var isArmed: Bool { scheduled != nil }

    /// Makes sure the timer fires no later than `deadline`; `fire` runs on `loop` when it does.
    mutating func arm(for deadline: NIODeadline, on loop: any EventLoop, _ fire: @escaping () -> Void) {
        guard scheduled == nil else { return }
        let at = min(deadline, .now() + period)
        scheduled = loop.assumeIsolated().scheduleTask(deadline: at) { fire() }
    }

    /// Called first thing in `fire`: the timer is no longer armed.
    mutating func fired() {
        scheduled = nil
    }

    mutating func cancel() {
        scheduled?.cancel()
        scheduled = nil
    }
}
