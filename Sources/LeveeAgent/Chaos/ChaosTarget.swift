public import LeveePolicy

/// What an experiment needs of the agent: its measurements now, and a way to add and clear faults.
/// ``ExperimentRunner`` runs against this; the agent's own is ``AgentChaosTarget`` (the upstream
/// registry and the fault table), a test may bring another.
public protocol ChaosTarget: Sendable {
    /// Each named upstream's window of the last 10 seconds and breaker, and the service level, now.
    func observe(upstreams: [String]) -> ChaosObservation
    /// Adds a fault; returns its id. Throws why it cannot (chaos off, too many faults, unknown
    /// upstream), in words for the report.
    func addFault(_ fault: ChaosFault, source: String, duration: Duration) throws -> String
    /// Clears one fault; clearing one that is gone already is not an error.
    func clearFault(id: String)
    /// Why `experiment` cannot run here (chaos off, an upstream it names does not exist), or nil.
    func problem(with experiment: ChaosExperiment) -> String?
}

extension UpstreamRegistry {
    /// What a chaos experiment reads of the agent now: the window, breaker and level that
    /// `levee upstreams` and `levee status` show.
    public func chaosObservation(upstreams names: [String]) -> ChaosObservation {
        var upstreams: [String: ChaosObservation.UpstreamObservation] = [:]
        for name in names {
            guard let runtime = existingRuntime(named: name) else { continue }
            let info = runtime.info()
            upstreams[name] = ChaosObservation.UpstreamObservation(
                calls: info.recent.calls,
                failures: info.recent.failures,
                p99: info.recent.p99,
                breaker: info.breaker.state
            )
        }
        return ChaosObservation(upstreams: upstreams, level: serviceLevel().level)
    }
}
