import LeveePolicy
import LeveeTestKit
import Testing

/// The pure part of chaos faults: what a spec says of itself, which attempts it matches, and the
/// percent decision on a seeded random source.
@Suite struct FaultSpecTests {
    @Test(
        "The description says the kind as the CLI lists it",
        arguments: [
            (FaultSpec(upstream: "p", action: .abort(httpStatus: 500)), "abort 500"),
            (FaultSpec(upstream: "p", action: .abortGRPC(code: 14)), "abort-grpc 14"),
            (FaultSpec(upstream: "p", action: .reset, delay: .milliseconds(200)), "delay 200ms + reset"),
            (FaultSpec(upstream: "p", action: .blackhole), "blackhole"),
            (FaultSpec(upstream: "p", action: .delayOnly, delay: .seconds(2)), "delay 2s"),
        ]
    )
    func description(spec: FaultSpec, expected: String) {
        #expect(spec.description == expected)
        #expect(spec.problem == nil)
    }

    @Test(
        "A spec that cannot act names the field that is wrong",
        arguments: [
            (FaultSpec(upstream: "", action: .reset), "upstream"),
            (FaultSpec(upstream: "p", action: .abort(httpStatus: 600)), "abort"),
            (FaultSpec(upstream: "p", action: .abortGRPC(code: 0)), "abort_grpc"),
            (FaultSpec(upstream: "p", action: .delayOnly), "delay"),
            (FaultSpec(upstream: "p", action: .reset, percent: 0), "percent"),
            (FaultSpec(upstream: "p", action: .reset, percent: 100.5), "percent"),
            (FaultSpec(upstream: "p", action: .reset, duration: .zero), "duration"),
            (FaultSpec(upstream: "p", action: .reset, header: FaultHeaderMatch(name: "", value: "x")), "header"),
        ]
    )
    func problems(spec: FaultSpec, field: String) throws {
        let problem = try #require(spec.problem)
        #expect(problem.hasPrefix("\(field):"), "\(problem)")
    }

    @Test("Matching: the upstream, then the endpoint and the header when the spec names them")
    func matching() {
        let headers = ["x-chaos": "yes"]
        let lookup: (String) -> String? = { headers[$0.lowercased()] }
        let any = FaultSpec(upstream: "payments", action: .reset)
        #expect(any.matches(upstream: "payments", endpoint: "10.0.0.1:80", header: lookup))
        #expect(!any.matches(upstream: "orders", endpoint: "10.0.0.1:80", header: lookup))

        let one = FaultSpec(upstream: "payments", action: .reset, endpoint: "10.0.0.2:80")
        #expect(one.matches(upstream: "payments", endpoint: "10.0.0.2:80", header: lookup))
        #expect(!one.matches(upstream: "payments", endpoint: "10.0.0.1:80", header: lookup))

        let tagged = FaultSpec(
            upstream: "payments",
            action: .reset,
            header: FaultHeaderMatch(name: "X-Chaos", value: "yes")
        )
        #expect(tagged.matches(upstream: "payments", endpoint: "10.0.0.1:80", header: lookup))
        #expect(!tagged.matches(upstream: "payments", endpoint: "10.0.0.1:80") { _ in nil })
        #expect(!tagged.matches(upstream: "payments", endpoint: "10.0.0.1:80") { _ in "no" })
    }

    @Test("The draw: the first percent of [0, 1) hits; 100 % hits without drawing")
    func draw() {
        let thirty = FaultSpec(upstream: "p", action: .reset, percent: 30)
        #expect(thirty.hits(draw: 0))
        #expect(thirty.hits(draw: 0.2999))
        #expect(!thirty.hits(draw: 0.3))
        #expect(!thirty.hits(draw: 0.9999))
        var random = SeededRandom(seed: 7)
        var copy = random
        let hit = FaultSpec(upstream: "p", action: .reset).hits(using: &random)
        #expect(hit)
        let (next, copied) = (random.next(), copy.next())
        #expect(next == copied)
    }

    @Test("Over 10 000 seeded draws, 30 % hits 30 % ± 1.5 %", arguments: [1, 2, 3] as [UInt64])
    func share(seed: UInt64) {
        let spec = FaultSpec(upstream: "p", action: .reset, percent: 30)
        var random = SeededRandom(seed: seed)
        let hits = (0..<10_000).count { _ in spec.hits(using: &random) }
        // Binomial(10 000, 0.3): sd ≈ 46; ± 150 is over 3 sd.
        #expect((2_850...3_150).contains(hits), "\(hits)")
    }
}
