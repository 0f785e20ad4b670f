import Synchronization

/// Whether the agent takes work: `/readyz` answers 200 only while it is serving.
final class Readiness: Sendable {
    enum Phase: Sendable {
        case starting
        case serving
        case draining
    }

    private let phase = Mutex(Phase.starting)

    var current: Phase { phase.withLock { $0 } }

    func serve() {
        phase.withLock { if $0 == .starting { $0 = .serving } }
    }

    func drain() {
        phase.withLock { $0 = .draining }
    }
}
