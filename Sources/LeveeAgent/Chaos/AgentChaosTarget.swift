public import LeveePolicy
import LeveeConfiguration

/// The agent's own ``ChaosTarget``: measurements from the upstream registry; faults in the agent's
/// fault table.
///
/// NOTE (branch `exp`): the agent's `FaultTable` is being built on branch `faults` and is not merged
/// here yet, so this adapter refuses every fault (the experiment ends `aborted`, naming why). The
/// adapter against the contract's `FaultTable.add(_:source:)` / `clear(id:)` is a few lines: see
/// the report of this branch.
public struct AgentChaosTarget: ChaosTarget {
    let registry: UpstreamRegistry

    public init(registry: UpstreamRegistry) {
        self.registry = registry
    }

    public func observe(upstreams: [String]) -> ChaosObservation {
        registry.chaosObservation(upstreams: upstreams)
    }

    public func addFault(_ fault: ChaosFault, source: String, duration: Duration) throws -> String {
        throw FaultTableMissing()
    }

    public func clearFault(id: String) {}

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
            return "method: \(experiment.method.count) faults, more than chaos.max_active "
                + "(\(configuration.chaos.maxActive))"
        }
        return nil
    }

    struct FaultTableMissing: Error, CustomStringConvertible {
        var description: String { "this agent has no fault table yet (branch faults is not merged)" }
    }
}
