import LeveeAgent
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Logging
import Testing

/// The fault table on a `TestClock`: the `chaos` bounds, the checks against the configuration, expiry,
/// and what a reload does. No sockets, no sleeping.
@Suite struct FaultTableTests {
    static func configuration(_ chaos: String = "chaos: { enabled: true }") throws -> AgentConfiguration {
        try AgentConfiguration.parse(
            yaml: """
                \(chaos)
                dynamic_upstreams: true
                upstreams:
                  pay: { endpoints: ["10.0.0.1:80", "10.0.0.2:80"] }
                  rpc: { protocol: grpc, endpoints: ["10.0.0.3:50051"] }
                """,
            file: "levee.yaml",
            environment: [:],
            uid: 1000
        )
    }

    static func table(_ configuration: AgentConfiguration, clock: TestClock) -> FaultTable {
        FaultTable(
            configuration: configuration,
            clock: clock,
            randomSeed: 1,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    static func refusal(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("Off: add refuses naming chaos.enabled")
    func disabled() throws {
        let table = Self.table(try Self.configuration(""), clock: TestClock())
        let message = Self.refusal { _ = try table.add(FaultSpec(upstream: "pay", action: .reset), source: "cli") }
        #expect(message.hasPrefix("chaos.enabled is false"), "\(message)")
    }

    @Test("Ids count up; the duration is filled in and capped; max_active refuses one too many")
    func addAndBounds() throws {
        let clock = TestClock()
        let table = Self.table(
            try Self.configuration("chaos: { enabled: true, max_active: 2, max_duration: 1m }"),
            clock: clock
        )
        let first = try table.add(FaultSpec(upstream: "pay", action: .reset), source: "")
        #expect(first.id == "f1" && first.source == "cli")
        #expect(first.spec.duration == .seconds(60))
        let second = try table.add(
            FaultSpec(upstream: "pay", action: .blackhole, duration: .seconds(5)),
            source: "experiment x"
        )
        #expect(second.id == "f2" && second.spec.duration == .seconds(5) && second.source == "experiment x")
        let third = Self.refusal { _ = try table.add(FaultSpec(upstream: "pay", action: .reset), source: "cli") }
        #expect(third.hasPrefix("chaos.max_active"), "\(third)")
        #expect(table.list().map(\.id) == ["f1", "f2"])
        #expect(table.list(upstream: "rpc").isEmpty)

        // f2 expires at 5 s: the next expiry the table reports, then gone, and a slot is free again.
        #expect(table.expire() == clock.now() + .seconds(5))
        clock.advance(by: .seconds(5))
        #expect(table.list().map(\.id) == ["f1"])
        #expect(table.expire() == clock.now() + .seconds(55))
        #expect(try table.add(FaultSpec(upstream: "pay", action: .reset), source: "cli").id == "f3")
        #expect(table.clear(id: "f1"))
        #expect(!table.clear(id: "f1"))
        #expect(table.clearAll() == ["f3"])
        #expect(table.list().isEmpty)
        #expect(table.expire() == nil)
    }

    @Test("The spec is checked against the configuration, naming the field")
    func checks() throws {
        let table = Self.table(try Self.configuration(), clock: TestClock())
        let cases: [(FaultSpec, String)] = [
            (FaultSpec(upstream: "nope", action: .reset), "upstream: no upstream named \"nope\""),
            (FaultSpec(upstream: "pay", action: .abortGRPC(code: 14)), "abort_grpc: pay is an HTTP upstream"),
            (FaultSpec(upstream: "rpc", action: .abort(httpStatus: 503)), "abort: rpc is a gRPC upstream"),
            (FaultSpec(upstream: "pay", action: .reset, endpoint: "10.0.0.9:80"), "endpoint: 10.0.0.9:80 is not"),
            (FaultSpec(upstream: "pay", action: .reset, endpoint: "nowhere"), "endpoint: host:port"),
            (FaultSpec(upstream: "pay", action: .reset, percent: 0), "percent:"),
        ]
        for (spec, prefix) in cases {
            let message = Self.refusal { _ = try table.add(spec, source: "cli") }
            #expect(message.hasPrefix(prefix), "\(spec): \(message)")
        }
        // A dynamic upstream (host:port, dynamic_upstreams on): either abort fits it.
        let dynamic = try table.add(FaultSpec(upstream: "localhost:8080", action: .abortGRPC(code: 14)), source: "cli")
        #expect(dynamic.spec.upstream == "localhost:8080")
    }

    @Test("A reload keeps the faults and applies the new bounds; one that turns chaos off clears them")
    func reload() throws {
        let table = Self.table(try Self.configuration(), clock: TestClock())
        _ = try table.add(FaultSpec(upstream: "pay", action: .reset), source: "cli")
        table.apply(try Self.configuration("chaos: { enabled: true, max_active: 1 }"))
        #expect(table.list().count == 1)
        #expect(table.chaos.maxActive == 1)
        let refused = Self.refusal { _ = try table.add(FaultSpec(upstream: "pay", action: .reset), source: "cli") }
        #expect(refused.hasPrefix("chaos.max_active"))
        table.apply(try Self.configuration(""))
        #expect(table.list().isEmpty)
        #expect(table.chaos.enabled == false)
    }

    @Test("A reload that lowers max_duration cuts the active faults to it, counted from when each was added")
    func reloadCutsDuration() throws {
        let clock = TestClock()
        let table = Self.table(try Self.configuration(), clock: clock)
        let old = try table.add(FaultSpec(upstream: "pay", action: .reset, duration: .seconds(600)), source: "cli")
        clock.advance(by: .seconds(90))
        let young = try table.add(
            FaultSpec(upstream: "pay", action: .blackhole, duration: .seconds(600)),
            source: "cli"
        )
        let short = try table.add(FaultSpec(upstream: "rpc", action: .reset, duration: .seconds(30)), source: "cli")
        clock.advance(by: .seconds(10))

        // 1m: the first (100 s old) is past it and goes at the next sweep; the second (10 s old) has
        // 50 s left; the 30 s one is shorter already and keeps its 20 s.
        table.apply(try Self.configuration("chaos: { enabled: true, max_duration: 1m }"))
        #expect(table.list().map(\.id) == [young.id, short.id])
        #expect(table.list().map(\.remaining) == [.seconds(50), .seconds(20)])
        #expect(table.list().map(\.spec.duration) == [.seconds(60), .seconds(30)])
        #expect(table.expire() == clock.now() + .seconds(20))
        #expect(!table.clear(id: old.id))

        // Raising it again lengthens nothing.
        table.apply(try Self.configuration("chaos: { enabled: true, max_duration: 10m }"))
        #expect(table.list().map(\.remaining) == [.seconds(50), .seconds(20)])
    }
}
