/// One run of a ``ChaosExperiment``: a pure, clock-driven state machine. The shell feeds it what the
/// agent measures (``observe(_:now:)``, a few times a second) and carries out the actions it returns
/// (add a fault, clear a fault, finish); time is a parameter and it does no I/O, so every verdict is
/// tested on a manual clock.
///
/// The chapter's workflow: the steady state is checked before the method (violated: `not_steady`,
/// nothing is injected); the method's faults go on and off on their schedule while the checks keep
/// running (violated at any moment: `deviated`; violated without a break for `abort_when.violated_for`:
/// every fault off at once, `aborted`); after the method the steady state must hold again within
/// `recover_within` (else `deviated`); otherwise the hypothesis `held`.
public struct ChaosRun: Sendable {
    public enum Phase: String, Sendable, Hashable {
        /// Not observed yet: the first observation is the before-check.
        case pending
        /// The faults go on and off.
        case method
        /// Every fault is off; waiting for the steady state to come back.
        case recovering
        case finished
    }

    /// What the shell must do.
    public enum Action: Sendable, Hashable {
        case addFault(step: Int, ChaosFault)
        case clearFault(step: Int)
        case finish(ChaosVerdict)
    }

    private enum StepState: Sendable, Hashable {
        case pending
        case on(id: String?)
        case off
    }

    public let experiment: ChaosExperiment
    public private(set) var phase = Phase.pending
    public private(set) var report: ChaosReport
    /// How often a sample for the chart is kept.
    public var sampleInterval: Duration

    private var start: Instant?
    private var methodStart: Instant?
    private var recoveringSince: Instant?
    private var steps: [StepState]
    /// Since when the steady state has been violated without a break, during the method.
    private var violatedSince: Instant?
    /// The first violation during the method, which makes the verdict `deviated`.
    private var deviation: String?
    private var previous: ChaosObservation?
    private var lastSample: Instant?

    public init(experiment: ChaosExperiment, sampleInterval: Duration = .seconds(1)) {
        self.experiment = experiment
        self.sampleInterval = sampleInterval
        steps = Array(repeating: .pending, count: experiment.method.count)
        report = ChaosReport(
            name: experiment.name,
            hypothesis: experiment.hypothesis,
            verdict: nil,
            reason: "",
            elapsed: .zero,
            checks: experiment.steadyState.map { ChaosCheckReport(check: $0) },
            timeline: [],
            samples: [],
            windows: []
        )
    }

    /// The faults on now, by step.
    public var activeSteps: [Int] {
        steps.indices.filter { if case .on = steps[$0] { true } else { false } }
    }

    // MARK: Events

    /// Takes what the agent measures now; returns what to do.
    public mutating func observe(_ observation: ChaosObservation, now: Instant) -> [Action] {
        guard phase != .finished else { return [] }
        let start = self.start ?? now
        if self.start == nil {
            self.start = start
            note(.start, "experiment \(experiment.name) started: \(experiment.hypothesis)", now: now)
        }
        report.elapsed = now - start
        keepSample(observation, now: now)
        noteChanges(observation, now: now)
        previous = observation
        let results = experiment.steadyState.map { Self.evaluate($0, observation) }
        let violations = results.filter { !$0.held }.map(\.violation)

        switch phase {
        case .pending:
            for index in results.indices { report.checks[index].before = results[index] }
            guard violations.isEmpty else {
                return finish(
                    .notSteady,
                    "the steady state does not hold before the method: " + violations.joined(separator: "; "),
                    now: now
                )
            }
            phase = .method
            methodStart = now
            return advanceSteps(now: now)
        case .method:
            for index in results.indices {
                report.checks[index].during = Self.worse(report.checks[index].during, results[index])
            }
            if violations.isEmpty {
                if violatedSince != nil {
                    violatedSince = nil
                    note(.recovered, "steady state holds again", now: now)
                }
            } else {
                if violatedSince == nil {
                    violatedSince = now
                    note(.violation, "steady state violated: " + violations.joined(separator: "; "), now: now)
                }
                if deviation == nil { deviation = violations.joined(separator: "; ") }
                if let rule = experiment.abortWhen, let since = violatedSince, now - since >= rule.violatedFor {
                    let reason =
                        "violated for \(ChaosFormat.duration(now - since)) (abort_when.violated_for "
                        + "\(ChaosFormat.duration(rule.violatedFor))): " + violations.joined(separator: "; ")
                    note(.abort, "abort: every fault off", now: now)
                    return clearAll(now: now) + finish(.aborted, reason, now: now)
                }
            }
            return advanceSteps(now: now)
        case .recovering:
            let since = recoveringSince ?? now
            if violations.isEmpty {
                for index in results.indices { report.checks[index].after = results[index] }
                if let deviation {
                    return finish(.deviated, "the steady state was violated during the method: \(deviation)", now: now)
                }
                return finish(.held, "the steady state held before, during and after the method", now: now)
            }
            if now - since >= experiment.recoverWithin {
                for index in results.indices { report.checks[index].after = results[index] }
                return finish(
                    .deviated,
                    "the steady state did not come back within recover_within "
                        + "\(ChaosFormat.duration(experiment.recoverWithin)): " + violations.joined(separator: "; "),
                    now: now
                )
            }
            return []
        case .finished:
            return []
        }
    }

    /// The shell added the fault of `step` as `id`.
    public mutating func faultAdded(step: Int, id: String, now: Instant) {
        guard steps.indices.contains(step) else { return }
        steps[step] = .on(id: id)
        let fault = experiment.method[step].fault
        report.windows.append(
            ChaosFaultWindow(
                step: step,
                faultID: id,
                upstream: fault.upstream,
                description: fault.description,
                from: now - (start ?? now),
                to: nil
            )
        )
        note(.faultOn, "fault \(id) on: \(fault.upstream) \(fault)", now: now)
    }

    /// The shell could not add the fault of `step`: everything off, `aborted`.
    public mutating func faultFailed(step: Int, error: String, now: Instant) -> [Action] {
        guard phase != .finished else { return [] }
        if steps.indices.contains(step) { steps[step] = .off }
        let fault = experiment.method.indices.contains(step) ? "\(experiment.method[step].fault.upstream) " : ""
        return clearAll(now: now)
            + finish(.aborted, "could not add the fault \(fault)of step \(step + 1): \(error)", now: now)
    }

    /// The run is stopped from outside (SIGINT, the agent stopping, an abort elsewhere in the fleet):
    /// every fault off, `aborted`.
    public mutating func cancel(reason: String, now: Instant) -> [Action] {
        guard phase != .finished else { return [] }
        if start == nil { start = now }
        report.elapsed = now - (start ?? now)
        note(.abort, "abort: \(reason)", now: now)
        return clearAll(now: now) + finish(.aborted, reason, now: now)
    }

    // MARK: Steps

    private mutating func advanceSteps(now: Instant) -> [Action] {
        guard let methodStart else { return [] }
        var actions: [Action] = []
        for (index, step) in experiment.method.enumerated() {
            switch steps[index] {
            case .pending where now >= methodStart + step.after + step.duration:
                steps[index] = .off  // its whole window passed between two observations
            case .pending where now >= methodStart + step.after:
                steps[index] = .on(id: nil)
                actions.append(.addFault(step: index, step.fault))
            case .on where now >= methodStart + step.after + step.duration:
                actions += clear(index, now: now)
            default:
                break
            }
        }
        if phase == .method, steps.allSatisfy({ $0 == .off }) {
            phase = .recovering
            recoveringSince = now
            note(.recovered, "method over: every fault off; waiting for the steady state", now: now)
        }
        return actions
    }

    private mutating func clear(_ index: Int, now: Instant) -> [Action] {
        guard case .on(let id) = steps[index] else { return [] }
        steps[index] = .off
        let at = now - (start ?? now)
        if let window = report.windows.lastIndex(where: { $0.step == index && $0.to == nil }) {
            report.windows[window].to = at
        }
        let fault = experiment.method[index].fault
        note(.faultOff, "fault \(id ?? "?") off: \(fault.upstream) \(fault)", now: now)
        return [.clearFault(step: index)]
    }

    private mutating func clearAll(now: Instant) -> [Action] {
        var actions: [Action] = []
        for index in steps.indices {
            if case .on = steps[index] { actions += clear(index, now: now) } else { steps[index] = .off }
        }
        return actions
    }

    private mutating func finish(_ verdict: ChaosVerdict, _ reason: String, now: Instant) -> [Action] {
        phase = .finished
        report.verdict = verdict
        report.reason = reason
        report.elapsed = now - (start ?? now)
        note(.end, "verdict \(verdict.rawValue): \(reason)", now: now)
        return [.finish(verdict)]
    }

    // MARK: Observations

    private mutating func note(_ kind: ChaosTimelineEntry.Kind, _ text: String, now: Instant) {
        report.timeline.append(ChaosTimelineEntry(at: now - (start ?? now), kind: kind, text: text))
    }

    private mutating func keepSample(_ observation: ChaosObservation, now: Instant) {
        if let lastSample, now - lastSample < sampleInterval { return }
        lastSample = now
        report.samples.append(
            ChaosSample(at: now - (start ?? now), upstreams: observation.upstreams, level: observation.level)
        )
    }

    /// Breaker transitions and level changes since the last observation go on the timeline.
    private mutating func noteChanges(_ observation: ChaosObservation, now: Instant) {
        guard let previous else { return }
        for (name, upstream) in observation.upstreams.sorted(by: { $0.key < $1.key }) {
            if let before = previous.upstreams[name]?.breaker, before != upstream.breaker {
                note(.breaker, "\(name) breaker \(before) -> \(upstream.breaker)", now: now)
            }
        }
        if observation.level != previous.level {
            note(.level, "service level \(observation.level.description) (was \(previous.level.description))", now: now)
        }
    }

    /// One check on one observation.
    static func evaluate(_ check: SteadyStateCheck, _ observation: ChaosObservation) -> ChaosCheckNumbers {
        switch check {
        case .serviceLevel(let allowed):
            let held = allowed.contains(observation.level)
            return ChaosCheckNumbers(
                level: observation.level,
                held: held,
                violation: held
                    ? ""
                    : "service level \(observation.level.description) not in "
                        + allowed.sorted().map(\.description).joined(separator: ", ")
            )
        case .upstream(let expected):
            let seen =
                observation.upstreams[expected.upstream]
                ?? ChaosObservation.UpstreamObservation(calls: 0, failures: 0, p99: .zero)
            var numbers = ChaosCheckNumbers(
                calls: seen.calls,
                failures: seen.failures,
                errorPercent: seen.errorPercent,
                p99: seen.p99,
                level: observation.level
            )
            var problems: [String] = []
            if seen.calls < expected.minCalls {
                problems.append("too few calls to judge (\(seen.calls) < min_calls \(expected.minCalls))")
            }
            if let limit = expected.p99Below, seen.calls > 0, seen.p99 >= limit {
                problems.append("p99 \(ChaosFormat.duration(seen.p99)) >= \(ChaosFormat.duration(limit))")
            }
            if let limit = expected.errorsBelow, seen.calls > 0, seen.errorPercent >= limit {
                problems.append(
                    "errors \(ChaosFormat.percent(seen.errorPercent)) >= \(ChaosFormat.percent(limit)) "
                        + "(\(seen.failures) of \(seen.calls))"
                )
            }
            numbers.held = problems.isEmpty
            numbers.violation = problems.isEmpty ? "" : "\(expected.upstream): " + problems.joined(separator: ", ")
            return numbers
        }
    }

    /// The worse of two readings of one check: a violation over a pass, then more errors, then a
    /// higher p99, then a worse level.
    static func worse(_ old: ChaosCheckNumbers?, _ new: ChaosCheckNumbers) -> ChaosCheckNumbers {
        guard let old else { return new }
        if old.held != new.held { return old.held ? new : old }
        if new.errorPercent != old.errorPercent { return new.errorPercent > old.errorPercent ? new : old }
        if new.p99 != old.p99 { return new.p99 > old.p99 ? new : old }
        return new.level > old.level ? new : old
    }
}
