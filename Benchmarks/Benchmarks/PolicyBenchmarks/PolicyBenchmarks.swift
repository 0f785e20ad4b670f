import Benchmark
import Foundation
import LeveePolicy

// Each benchmark makes its policy value first, then measures only the loop (`startMeasurement()`), so
// the counts say what the decisions themselves cost. A sample runs the decision `scalingFactor` times:
// 1 000 by default, and the metrics marked `*` are per decision. `LEVEE_BENCH_SCALE=1` makes every
// sample a single decision, so the malloc counts are exact integers per decision (docs/benchmarks.md).
// The "baseline" benchmark shows what the harness costs alone.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        scalingFactor: ProcessInfo.processInfo.environment["LEVEE_BENCH_SCALE"] == "1" ? .one : .kilo,
        maxDuration: .seconds(2),
        maxIterations: 20_000
    )

    Benchmark("baseline: empty loop") { benchmark in
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            blackHole(index)
        }
    }

    Benchmark("breaker acquire+record: count window of 100") { benchmark in
        var breaker = try CircuitBreaker(configuration: .defaults)
        try measureBreaker(&breaker, benchmark)
    }

    Benchmark("breaker acquire+record: time window of 10 s") { benchmark in
        var breaker = try CircuitBreaker(configuration: .init(window: .time(size: .seconds(10))))
        try measureBreaker(&breaker, benchmark)
    }

    Benchmark("bulkhead acquire+release") { benchmark in
        var bulkhead = try Bulkhead(configuration: .defaults)
        var now = Instant(nanoseconds: 1_000_000_000)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            now += .nanoseconds(100)
            let admission = bulkhead.tryAcquire(
                priority: .normal,
                queueDeadline: bulkhead.queueDeadline(callDeadline: .distantFuture, now: now),
                now: now
            )
            blackHole(admission)
            blackHole(try bulkhead.release(priority: .normal, now: now))
        }
    }

    Benchmark("retry budget deposit+withdraw") { benchmark in
        var budget = RetryBudget(configuration: .defaults)
        var now = Instant(nanoseconds: 1_000_000_000)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            now += .microseconds(10)
            budget.deposit(now: now)
            blackHole(budget.tryWithdraw(now: now))
        }
    }

    Benchmark("backoff draw: full jitter") { benchmark in
        var backoff = Backoff(configuration: .defaults)
        var rng = SplitMix64(seed: 7)
        var retry = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            retry = retry % 5 + 1
            blackHole(backoff.delay(forRetry: retry, using: &rng))
        }
    }

    Benchmark("backoff draw: decorrelated jitter") { benchmark in
        var backoff = Backoff(configuration: .init(jitter: .decorrelated))
        var rng = SplitMix64(seed: 7)
        var retry = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            retry = retry % 5 + 1
            blackHole(backoff.delay(forRetry: retry, using: &rng))
        }
    }

    Benchmark("retry decision: 503 on an idempotent call, budget charged") { benchmark in
        let policy = RetryPolicy(configuration: .defaults)
        var budget = policy.makeBudget()
        var backoff = policy.makeBackoff()
        var rng = SplitMix64(seed: 7)
        var now = Instant(nanoseconds: 1_000_000_000)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            now += .microseconds(10)
            budget.deposit(now: now)
            let decision = policy.decide(
                outcome: .failure(.httpStatus(503)),
                isIdempotent: true,
                attemptsMade: 1,
                endpoint: 0,
                deadline: Deadline(now + .seconds(5)),
                now: now,
                budget: &budget,
                backoff: &backoff,
                using: &rng
            )
            blackHole(decision)
        }
    }

    Benchmark("load balancer pick: round robin, 8 endpoints") { benchmark in
        var balancer = LoadBalancer(configuration: .init(policy: .roundRobin), endpointCount: 8)
        let available = EndpointSet.all(count: 8)
        var rng = SplitMix64(seed: 7)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(balancer.pick(available: available, using: &rng))
        }
    }

    Benchmark("load balancer pick: least loaded (P2C), 8 endpoints, 1 avoided") { benchmark in
        var balancer = LoadBalancer(configuration: .init(policy: .leastLoaded), endpointCount: 8)
        let available = EndpointSet.all(count: 8)
        let avoiding = EndpointSet([3])
        var rng = SplitMix64(seed: 7)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            if let endpoint = balancer.pick(available: available, avoiding: avoiding, using: &rng) {
                balancer.onAttemptStarted(endpoint: endpoint)
                balancer.onAttemptFinished(endpoint: endpoint)
                blackHole(endpoint)
            }
        }
    }
}

/// Acquire and record in a steady CLOSED state: one failure in ten, below the 50 % threshold, with the
/// clock moving 1 µs per call so that a time window rolls its buckets.
private func measureBreaker(_ breaker: inout CircuitBreaker, _ benchmark: Benchmark) throws {
    var now = Instant(nanoseconds: 1_000_000_000)
    var count = 0
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        now += .microseconds(1)
        count &+= 1
        guard case .admitted(let permit, _) = breaker.tryAcquire(now: now) else {
            throw BenchmarkFailure.unexpectedRejection
        }
        let outcome: AttemptOutcome = count % 10 == 0 ? .failure(.httpStatus(503)) : .success
        blackHole(breaker.record(outcome, for: permit, duration: .milliseconds(3), now: now))
    }
}

private enum BenchmarkFailure: Error {
    case unexpectedRejection
}
