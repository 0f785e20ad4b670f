import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import LeveeAgent

/// The attempt timeouts of one event loop's connection pool, which one timer watches for every
/// exchange in flight (armed for the earliest deadline it has seen, not moved when an exchange ends).
@Suite(.timeLimit(.minutes(1)))
struct HTTP1ExecutorTimeoutTests {
    private static func timedOut(_ result: AttemptResult) -> Bool {
        if case .failed(.timeout, _) = result { return true }
        return false
    }

    private static func answered(_ result: AttemptResult) -> Bool {
        if case .answered(_, status: .http(200), _) = result { return true }
        return false
    }

    @Test(
        "Each attempt times out at its own deadline: a shorter one started after a longer one first, while others answer"
    )
    func eachAttemptAtItsOwnDeadline() async throws {
        let server = try await TestHTTPServer.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = HTTP1Executor(
            settings: .init(connectTimeout: .seconds(2), maxIdlePerEndpoint: 8),
            group: group
        )
        server.setBehaviour(.stall(.seconds(30), then: .ok), forPath: "/stall")
        server.setBehaviour(.ok, forPath: "/fast")
        let endpoint = EndpointAddress(host: "127.0.0.1", port: server.port)
        let clock = ContinuousClock()
        func attempt(_ path: String, timeout: Duration) async -> (AttemptResult, Duration) {
            let start = clock.now
            let result = await executor.execute(
                .http(HTTPUpstreamRequest(method: .GET, target: path)),
                on: endpoint,
                timeout: timeout,
                remaining: timeout
            )
            return (result, clock.now - start)
        }

        // A long attempt arms the timer first; a short one started after it must not wait for it.
        async let long = attempt("/stall", timeout: .seconds(6))
        #expect(try await eventually(within: .seconds(5)) { server.requestCount >= 1 })
        async let short = attempt("/stall", timeout: .milliseconds(400))
        // Meanwhile attempts that answer come and go on the same pool.
        for _ in 0..<50 {
            let (result, _) = await attempt("/fast", timeout: .seconds(5))
            #expect(Self.answered(result))
        }
        let (shortResult, shortElapsed) = await short
        #expect(Self.timedOut(shortResult), "\(shortResult)")
        #expect(shortElapsed >= .milliseconds(400))
        // Far below the long attempt's 6 s: a timer armed only for the first deadline would end it there.
        #expect(shortElapsed < .seconds(3), "the short attempt waited for the long one's deadline")

        // After the 50 that answered (each left the timer's list when it ended), a new short
        // attempt still times out at its own deadline, and the long one at its own.
        let (again, againElapsed) = await attempt("/stall", timeout: .milliseconds(300))
        #expect(Self.timedOut(again), "\(again)")
        #expect(againElapsed >= .milliseconds(300))
        #expect(againElapsed < .seconds(3), "the attempt waited for the long one's deadline")
        let (longResult, longElapsed) = await long
        #expect(Self.timedOut(longResult), "\(longResult)")
        #expect(longElapsed >= .seconds(6))

        // The pool is usable afterwards: the timed-out connections closed, a new request answers.
        let (after, _) = await attempt("/fast", timeout: .seconds(5))
        #expect(Self.answered(after))

        await executor.shutdown()
        try await server.stop()
        try await group.shutdownGracefully()
    }
}
