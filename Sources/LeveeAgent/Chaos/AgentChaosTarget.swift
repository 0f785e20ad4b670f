import LeveeConfiguration
public import LeveePolicy

/// The agent's own ``ChaosTarget``: measurements from the upstream registry, faults in the agent's
/// ``FaultTable`` (the same table `levee fault` fills, so `levee fault list` shows an experiment's
/// faults with the source `experiment NAME`). A thin adapter: ``ChaosFault`` is the experiment
/// file's spelling of the table's ``FaultSpec``.
public struct AgentChaosTarget: ChaosTarget {
    let registry: UpstreamRegistry
    let faults: FaultTable

    public init(registry: UpstreamRegistry, faults: FaultTable) {
        self.registry = registry
        self.faults = faults
    }

    public func observe(upstreams: [String]) -> ChaosObservation {
        registry.chaosObservation(upstreams: upstreams)
    }

    public func addFault(_ fault: ChaosFault, source: String, duration: Duration) throws -> String {
        try faults.add(Self.spec(fault, duration: duration), source: source).id
    }

    public func clearFault(id: String) {
        faults.clear(id: id)
    }

    public func problem(with experiment: ChaosExperiment) -> String? {
        let configuration = registry.configuration
        guard configuration.chaos.enabled else {
            return "chaos.enabled is false in the agent's configuration: an experiment cannot inject faults "
                + "(set chaos: { enabled: true } and reload)"
        }
        let missing = experiment.upstreams.filter { registry.existingRuntime(named: $0) == nil }
        if !missing.isEmpty {
            return "the experiment names upstreams this agent does not have: " + missing.joined(separator: ", ")
        }
        if experiment.method.count > configuration.chaos.maxActive {
            return
                "method: \(experiment.method.count) faults, more than chaos.max_active (\(configuration.chaos.maxActive))"
        }
        return nil
    }

    /// The experiment's fault as the fault table's spec.
    static func spec(_ fault: ChaosFault, duration: Duration) -> FaultSpec {
        let action: FaultAction =
            switch fault.action {
            case .abort(let status): .abort(httpStatus: status)
            case .abortGRPC(let code): .abortGRPC(code: code)
            case .reset: .reset
            case .blackhole: .blackhole
            case .delayOnly: .delayOnly
            }
        return FaultSpec(
            upstream: fault.upstream,
            action: action,
            delay: fault.delay,
            percent: fault.percent,
            endpoint: fault.endpoint,
            header: fault.header.map { FaultHeaderMatch(name: $0.name, value: $0.value) },
            duration: duration
        )
    }
}
