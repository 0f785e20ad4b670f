import LeveeAgent
import LeveePolicy
import LeveeTestKit
import Testing

/// The last 10 seconds of calls, on a manual clock.
@Suite
struct RecentLatencyWindowTests {
    @Test("Counts, failures and quantiles of the calls in the span; older buckets drop out")
    func windowSlides() {
        var clock = ManualClock()
        var window = RecentLatencyWindow()
        #expect(window.summary(now: clock.now) == .init(calls: 0, failures: 0, p50: .zero, p99: .zero))
        for index in 1...100 {
            window.record(.milliseconds(index), failed: index > 90, now: clock.now)
        }
        var summary = window.summary(now: clock.now)
        #expect(summary.calls == 100)
        #expect(summary.failures == 10)
        // Within the histogram's resolution (a bin is at most a quarter of its octave wide), never
        // below the true quantile, never above the largest latency seen.
        #expect(summary.p50 >= .milliseconds(50) && summary.p50 <= .milliseconds(63))
        #expect(summary.p99 >= .milliseconds(99) && summary.p99 <= .milliseconds(100))

        clock.advance(by: .seconds(5))
        window.record(.seconds(2), failed: true, now: clock.now)
        summary = window.summary(now: clock.now)
        #expect(summary.calls == 101)
        #expect(summary.p99 == .milliseconds(100) || summary.p99 >= .milliseconds(99))

        // 10 s after the first calls they are gone; the later one stays until its own 10 s pass.
        clock.advance(by: .seconds(5))
        summary = window.summary(now: clock.now)
        #expect(summary.calls == 1)
        #expect(summary.failures == 1)
        #expect(summary.p50 == .seconds(2))
        clock.advance(by: .seconds(10))
        #expect(window.summary(now: clock.now).calls == 0)
    }

    @Test("A bucket reused after the ring wraps forgets its old calls")
    func ringReuse() {
        var clock = ManualClock()
        var window = RecentLatencyWindow()
        window.record(.milliseconds(1), failed: false, now: clock.now)
        clock.advance(by: .seconds(10))
        window.record(.milliseconds(5), failed: false, now: clock.now)
        let summary = window.summary(now: clock.now)
        #expect(summary.calls == 1)
        #expect(summary.p50 == .milliseconds(5))
    }

    @Test(
        "Sub-microsecond and very long latencies land in the end bins",
        arguments: [
            Duration.nanoseconds(10), .microseconds(1), .seconds(3_600),
        ]
    )
    func extremes(latency: Duration) {
        var window = RecentLatencyWindow()
        window.record(latency, failed: false, now: .zero)
        let summary = window.summary(now: .zero)
        #expect(summary.calls == 1)
        #expect(summary.p99 <= latency || summary.p99 == .microseconds(1))
        #expect(summary.p99 > .zero)
    }
}
