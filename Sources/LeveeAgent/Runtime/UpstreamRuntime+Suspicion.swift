import LeveePolicy

extension UpstreamRuntime.State {
    /// A failure streak that has just reached `gossip.suspect_after`: the suspicion to tell the peers,
    /// and the breaker's opening when their suspicion corroborated it (`share: follow`).
    struct Suspicion {
        var streak: Int
        var transition: CircuitBreaker.Transition?
    }

    /// The suspicion, when the breaker's failure streak went from below `suspectAfter` (`before`) to
    /// it; under `follow`, the breaker opens then if `quorum` live peers suspect the upstream too or
    /// report it open. Each streak is news once: it must end (a success, a transition) to be again.
    mutating func suspicion(after before: Int, now: @autoclosure () -> Instant) -> Suspicion? {
        let streak = policy.breaker.failureStreak
        guard suspectAfter > 0, before < suspectAfter, streak >= suspectAfter else { return nil }
        return Suspicion(streak: streak, transition: follows ? openOnCorroboration(now: now()) : nil)
    }

    /// Opens a CLOSED breaker whose streak has reached `suspectAfter` when at least `peerQuorum` live
    /// peers suspect the upstream or report it open.
    mutating func openOnCorroboration(now: Instant) -> CircuitBreaker.Transition? {
        let peers = Set(peersSuspecting).union(peersReportingOpen).count
        guard peers >= peerQuorum else { return nil }
        return policy.openOnCorroboration(peers: peers, suspectAfter: suspectAfter, now: now)
    }
}
