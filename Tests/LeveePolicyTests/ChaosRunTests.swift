import LeveePolicy
import LeveeTestKit
import Testing

/// The experiment engine on a manual clock: each verdict, the schedule of the faults, the abort guard.
@Suite struct ChaosRunTests {
    typealias Observed = ChaosObservation.UpstreamObservation

    /// payments gets the fault; the steady state is about inventory and the service level.
    static func experiment(abortAfter: Duration? = nil, recoverWithin: Duration = .seconds(10)) -> ChaosExperiment {
        ChaosExperiment(
            name: "payments-sick",
            hypothesis: "inventory stays within its steady state while payments fails",
            steadyState: [
                .upstream(
                    UpstreamSteadyState(
                        upstream: "inventory",
                        p99Below: .milliseconds(200),
                        errorsBelow: 1,
                        minCalls: 20
                    )
                ),
                .serviceLevel([.full, .degraded]),
            ],
            method: [
                ChaosExperiment.MethodStep(
                    fault: ChaosFault(upstream: "payments", action: .abort(httpStatus: 500)),
                    after: .seconds(1),
                    duration: .seconds(5)
                )
            ],
            abortWhen: abortAfter.map { ChaosExperiment.AbortRule(violatedFor: $0) },
            recoverWithin: recoverWithin
        )
    }

    static func observation(
        inventory: Observed = Observed(calls: 100, failures: 0, p99: .milliseconds(20)),
        level: ServiceLevel = .full
    ) -> ChaosObservation {
        ChaosObservation(
            upstreams: ["inventory": inventory, "payments": Observed(calls: 50, failures: 0, p99: .milliseconds(5))],
            level: level
        )
    }

    /// Feeds `observe` every 250 ms for `duration`, carrying out adds with ids f1, f2, ...; returns the
    /// actions in order.
    static func drive(
        _ run: inout ChaosRun,
        clock: inout ManualClock,
        for duration: Duration,
        _ observation: (Duration) -> ChaosObservation
    ) -> [ChaosRun.Action] {
        var actions: [ChaosRun.Action] = []
        var elapsed = Duration.zero
        var ids = 0
        while elapsed <= duration, run.phase != .finished {
            let step = run.observe(observation(elapsed), now: clock.now)
            for action in step {
                if case .addFault(let index, _) = action {
                    ids += 1
                    run.faultAdded(step: index, id: "f\(ids)", now: clock.now)
                }
            }
            actions += step
            clock.advance(by: .milliseconds(250))
            elapsed += .milliseconds(250)
        }
        return actions
    }

    @Test("A steady state that holds throughout: the fault goes on after 1 s, off after 6 s, verdict held")
    func holds() {
        var clock = ManualClock()
        var run = ChaosRun(experiment: Self.experiment(abortAfter: .seconds(2)))
        let actions = Self.drive(&run, clock: &clock, for: .seconds(30)) { _ in Self.observation() }
        #expect(
            actions == [
                .addFault(step: 0, ChaosFault(upstream: "payments", action: .abort(httpStatus: 500))),
                .clearFault(step: 0),
                .finish(.held),
            ]
        )
        #expect(run.report.verdict == .held)
        #expect(run.report.windows.count == 1)
        #expect(run.report.windows.first?.from == .seconds(1))
        #expect(run.report.windows.first?.to == .seconds(6))
        #expect(run.report.checks.allSatisfy { $0.before != nil && $0.during != nil && $0.after != nil && $0.held })
        let kinds = run.report.timeline.map(\.kind)
        #expect(kinds == [.start, .faultOn, .faultOff, .recovered, .end])
    }

    @Test("Not steady before the method: refuses to start and adds nothing")
    func notSteady() {
        var clock = ManualClock()
        var run = ChaosRun(experiment: Self.experiment())
        let actions = Self.drive(&run, clock: &clock, for: .seconds(5)) { _ in
            Self.observation(inventory: Observed(calls: 100, failures: 0, p99: .milliseconds(300)))
        }
        #expect(actions == [.finish(.notSteady)])
        #expect(run.report.reason.contains("p99 300ms >= 200ms"))
        #expect(run.report.windows.isEmpty)
    }

    @Test("Too little traffic to judge is a failed check, not a pass")
    func tooFewCalls() {
        var clock = ManualClock()
        var run = ChaosRun(experiment: Self.experiment())
        let actions = Self.drive(&run, clock: &clock, for: .seconds(1)) { _ in
            Self.observation(inventory: Observed(calls: 5, failures: 0, p99: .milliseconds(1)))
        }
        #expect(actions == [.finish(.notSteady)])
        #expect(run.report.reason.contains("too few calls"))
    }

    @Test("Violated briefly during the method, recovered after: deviated, with the worst numbers kept")
    func deviates() {
        var clock = ManualClock()
        var run = ChaosRun(experiment: Self.experiment(abortAfter: .seconds(3)))
        let actions = Self.drive(&run, clock: &clock, for: .seconds(30)) { elapsed in
            // Errors on inventory for 1 s in the middle of the fault: less than the abort guard.
            elapsed >= .seconds(2) && elapsed < .seconds(3)
                ? Self.observation(inventory: Observed(calls: 100, failures: 7, p99: .milliseconds(20)))
                : Self.observation()
        }
        #expect(actions.last == .finish(.deviated))
        #expect(actions.contains(.clearFault(step: 0)))
        #expect(run.report.checks[0].during?.failures == 7)
        #expect(run.report.checks[0].after?.held == true)
        #expect(run.report.timeline.contains { $0.kind == .violation })
    }

    @Test("Violated without a break for abort_when.violated_for: every fault off at once, aborted")
    func aborts() {
        var clock = ManualClock()
        var run = ChaosRun(experiment: Self.experiment(abortAfter: .seconds(2)))
        var clearedAt: Duration?
        var elapsed = Duration.zero
        var violatedFrom: Duration?
        while run.phase != .finished && elapsed < .seconds(30) {
            let sick = elapsed >= .milliseconds(1_500)
            if sick && violatedFrom == nil { violatedFrom = elapsed }
            let observation =
                sick
                ? Self.observation(inventory: Observed(calls: 100, failures: 50, p99: .milliseconds(20)))
                : Self.observation()
            for action in run.observe(observation, now: clock.now) {
                if case .addFault(let index, _) = action { run.faultAdded(step: index, id: "f1", now: clock.now) }
                if case .clearFault = action { clearedAt = elapsed }
            }
            clock.advance(by: .milliseconds(250))
            elapsed += .milliseconds(250)
        }
        #expect(run.report.verdict == .aborted)
        let cleared = try! #require(clearedAt)
        let from = try! #require(violatedFrom)
        // Within violated_for (and one observation) of the first violation, well before the method's end.
        #expect(cleared - from >= .seconds(2))
        #expect(cleared - from <= .seconds(2) + .milliseconds(250))
        #expect(run.activeSteps.isEmpty)
        #expect(run.report.reason.contains("abort_when.violated_for 2s"))
    }

    @Test("Not recovered within recover_within: deviated")
    func doesNotRecover() {
        var clock = ManualClock()
        var run = ChaosRun(experiment: Self.experiment(recoverWithin: .seconds(3)))
        let actions = Self.drive(&run, clock: &clock, for: .seconds(30)) { elapsed in
            elapsed >= .seconds(5)
                ? Self.observation(
                    inventory: Observed(calls: 100, failures: 0, p99: .milliseconds(20)),
                    level: .minimal
                )
                : Self.observation()
        }
        #expect(actions.last == .finish(.deviated))
        #expect(run.report.reason.contains("recover_within 3s"))
        #expect(run.report.checks[1].after?.held == false)
        #expect(run.report.timeline.contains { $0.kind == .level && $0.text.contains("MINIMAL") })
    }

    @Test("Cancelled mid-method: clears the fault that is on, aborted")
    func cancelled() {
        var clock = ManualClock()
        var run = ChaosRun(experiment: Self.experiment())
        _ = Self.drive(&run, clock: &clock, for: .seconds(2)) { _ in Self.observation() }
        #expect(run.activeSteps == [0])
        let actions = run.cancel(reason: "the client went away", now: clock.now)
        #expect(actions == [.clearFault(step: 0), .finish(.aborted)])
        #expect(run.observe(Self.observation(), now: clock.now).isEmpty)
    }

    @Test("A fault the agent refuses ends the run aborted, clearing the others")
    func faultRefused() {
        var run = ChaosRun(experiment: Self.experiment())
        let clock = ManualClock()
        _ = run.observe(Self.observation(), now: clock.now)
        let actions = run.faultFailed(step: 0, error: "chaos.enabled is false", now: clock.now)
        #expect(actions == [.finish(.aborted)])
        #expect(run.report.reason.contains("chaos.enabled is false"))
    }

    @Test("Breaker transitions go on the timeline")
    func breakerTimeline() {
        var clock = ManualClock()
        var run = ChaosRun(experiment: Self.experiment())
        _ = Self.drive(&run, clock: &clock, for: .seconds(3)) { elapsed in
            var observation = Self.observation()
            if elapsed >= .seconds(2) {
                observation.upstreams["payments"]?.breaker = .open
            }
            return observation
        }
        #expect(run.report.timeline.contains { $0.kind == .breaker && $0.text == "payments breaker CLOSED -> OPEN" })
    }
}
