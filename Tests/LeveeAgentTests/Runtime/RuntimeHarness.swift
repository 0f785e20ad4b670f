import LeveeAPI
import LeveeAgent
import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Logging
import NIOCore
import NIOHTTP1

/// One upstream's runtime on a `TestClock`, its attempts answered by a `ScriptedExecutor`: no sockets,
/// no sleeping. The upstream is `pay`, with the endpoints and policy the test writes in YAML.
struct RuntimeHarness {
    let clock = TestClock()
    let executor: ScriptedExecutor
    let runtime: UpstreamRuntime

    /// - Parameter policy: the upstream's keys, as they would stand under `upstreams.pay` (indented by
    ///   the harness).
    init(endpoints: [String] = ["10.0.0.1:80", "10.0.0.2:80"], _ policy: String = "") throws {
        executor = ScriptedExecutor(clock: clock)
        let upstream = try Self.upstream(endpoints: endpoints, policy)
        runtime = try UpstreamRuntime(
            configuration: upstream,
            executor: executor,
            clock: clock,
            randomSeed: 7,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    /// The configuration of `pay`, as the agent's loader reads it.
    static func upstream(endpoints: [String], _ policy: String) throws -> UpstreamConfiguration {
        try configuration(endpoints: endpoints, policy).upstreams[0]
    }

    static func configuration(endpoints: [String], _ policy: String) throws -> AgentConfiguration {
        let list = endpoints.map { "\"\($0)\"" }.joined(separator: ", ")
        let body = policy.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
            .joined(separator: "\n")
        let yaml = "upstreams:\n  pay:\n    endpoints: [\(list)]\n\(body)\n"
        return try AgentConfiguration.parse(yaml: yaml, file: "test.yaml", environment: [:], uid: 0)
    }

    /// Makes a call, in a task of its own, so that the test can move the clock while it waits.
    func start(
        _ method: String = "GET",
        _ path: String = "/",
        _ options: GuardedCallOptions = GuardedCallOptions()
    ) -> Task<CallResult, Never> {
        let http = HTTPUpstreamRequest(method: HTTPMethod(rawValue: method), target: path)
        let runtime = runtime
        return Task { await runtime.call(.http(http), options: options) }
    }

    /// Makes a call that needs no time to pass.
    func call(
        _ method: String = "GET",
        _ path: String = "/",
        _ options: GuardedCallOptions = GuardedCallOptions()
    ) async -> CallResult {
        await start(method, path, options).value
    }

    /// Waits until the code under test sleeps on the clock (`count` sleepers), then moves it by `step`.
    func advance(by step: Duration, once count: Int = 1) async {
        await clock.waitForSleepers(count)
        clock.advance(by: step)
    }
}

extension CallResult {
    /// The HTTP body of the answer, as text.
    var text: String {
        guard case .http(let http)? = answer else { return "" }
        return String(buffer: http.body)
    }

    /// The HTTP status of the answer; 0 without one.
    var status: Int {
        guard case .http(let http)? = answer else { return 0 }
        return Int(http.status.code)
    }
}
