import LeveeConfiguration
import LeveePolicy
import Testing

@Suite struct ChaosExperimentDecodingTests {
    /// The example, verbatim.
    static let example = """
        name: payments-sick
        hypothesis: Inventory stays within its steady state while Payments fails
        steady_state:                  # checked before (not steady: refuse to start), during, and after
          - upstream: inventory
            p99_below: 200ms
            errors_below: 0.1%         # non-OK calls
            min_calls: 20              # too little traffic to judge is a failed check, not a pass
          - service_level: [FULL, DEGRADED]
        method:
          - fault: { upstream: payments, abort: 500, delay: 10s, percent: 100 }
            after: 0s
            for: 60s
        abort_when: { violated_for: 5s }   # the blast-radius guard: remove every fault at once
        recover_within: 30s                # after the method, the steady state must hold again
        """

    @Test("The issue's example reads as written")
    func example() throws {
        let experiment = try ChaosExperiment.parse(yaml: Self.example, file: "payments-sick.yaml")
        #expect(experiment.name == "payments-sick")
        #expect(experiment.hypothesis == "Inventory stays within its steady state while Payments fails")
        #expect(
            experiment.steadyState == [
                .upstream(
                    UpstreamSteadyState(
                        upstream: "inventory",
                        p99Below: .milliseconds(200),
                        errorsBelow: 0.1,
                        minCalls: 20
                    )
                ),
                .serviceLevel([.full, .degraded]),
            ]
        )
        #expect(
            experiment.method == [
                ChaosExperiment.MethodStep(
                    fault: ChaosFault(upstream: "payments", action: .abort(httpStatus: 500), delay: .seconds(10)),
                    after: .zero,
                    duration: .seconds(60)
                )
            ]
        )
        #expect(experiment.abortWhen == ChaosExperiment.AbortRule(violatedFor: .seconds(5)))
        #expect(experiment.recoverWithin == .seconds(30))
        #expect(experiment.methodDuration == .seconds(60))
        #expect(experiment.upstreams == ["inventory", "payments"])
    }

    @Test("Each fault key of the CLI's flags")
    func faultKeys() throws {
        let yaml = """
            name: x
            steady_state: [{ upstream: a, min_calls: 1 }]
            method:
              - fault: { upstream: a, abort_grpc: 14, endpoint: "127.0.0.1:80", header: "x-chaos=on", percent: 25 }
                for: 1s
              - fault: { upstream: a, reset: true }
                for: 1s
              - fault: { upstream: a, blackhole: true }
                for: 1s
              - fault: { upstream: a, delay: 200ms }
                for: 1s
            """
        let method = try ChaosExperiment.parse(yaml: yaml, file: "x.yaml").method
        #expect(method[0].fault.action == .abortGRPC(code: 14))
        #expect(method[0].fault.endpoint == "127.0.0.1:80")
        #expect(method[0].fault.header?.name == "x-chaos")
        #expect(method[0].fault.header?.value == "on")
        #expect(method[0].fault.percent == 25)
        #expect(method[1].fault.action == .reset)
        #expect(method[2].fault.action == .blackhole)
        #expect(method[3].fault.action == .delayOnly)
        #expect(method[3].fault.description == "delay 200ms")
        #expect(method[0].fault.description == "abort-grpc 14 (25%)")
    }

    @Test(
        "Bad input names the file, the key path and what was expected",
        arguments: [
            (
                "name: x\nsteady_state: [{ upstream: a, errors_below: 0.1 }]\nmethod: [{ fault: { upstream: a, reset: true }, for: 1s }]",
                "steady_state[0].errors_below", "a percentage such as 0.1%"
            ),
            (
                "name: x\nsteady_state: [{ service_level: [FULL, GOOD] }]\nmethod: [{ fault: { upstream: a, reset: true }, for: 1s }]",
                "steady_state[0].service_level[1]", "FULL, DEGRADED or MINIMAL"
            ),
            (
                "name: x\nsteady_state: [{ upstream: a, min_calls: 3 }]\nmethod: [{ fault: { upstream: a, abort: 700 }, for: 1s }]",
                "method[0].fault.abort", "an HTTP status, 100 to 599"
            ),
            (
                "name: x\nsteady_state: [{ upstream: a, min_calls: 3 }]\nmethod: [{ fault: { upstream: a, abort: 500, reset: true }, for: 1s }]",
                "method[0].fault", "at most one of abort, abort_grpc, reset, blackhole"
            ),
            (
                "name: x\nsteady_state: [{ upstream: a, min_calls: 3 }]\nmethod: [{ fault: { upstream: a, abort: 500 } }]",
                "method[0]", "for: how long the fault stays on"
            ),
            (
                "name: x\nsteady_state: [{ upstream: a, min_calls: 3 }]\nmethod: [{ fault: { upstream: a, abort: 500 }, for: 1s }]\nabort_when: { violated_for: 5 }",
                "abort_when.violated_for", "a duration such as 250ms or 2s"
            ),
            (
                "name: x\nsteady_state: [{ upstream: a, min_calls: 3 }]\nmethod: [{ fault: { upstream: a, abort: 500 }, for: 1s }]\nrecovr_within: 5s",
                "recovr_within", "did you mean recover_within"
            ),
        ]
    )
    func errors(yaml: String, keyPath: String, expected: String) {
        #expect {
            _ = try ChaosExperiment.parse(yaml: yaml, file: "bad.yaml")
        } throws: { error in
            guard let error = error as? ConfigurationFileError else { return false }
            let text = error.description
            return error.file == "bad.yaml" && error.keyPath == keyPath && text.contains(expected)
        }
    }
}
