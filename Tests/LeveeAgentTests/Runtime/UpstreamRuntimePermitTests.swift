import LeveeConfiguration
import LeveePolicy
import LeveeTestKit
import Testing

@testable import LeveeAgent

/// `Acquire`/`Release` and permit leases on the manual clock: the same breaker, bulkhead, budget and
/// deadline as guarded calls, for attempts the app makes itself.
@Suite struct UpstreamRuntimePermitTests {
    @Test("A permit holds a bulkhead slot until its release, which the breaker counts")
    func grantAndRelease() async throws {
        let harness = try RuntimeHarness(
            """
            bulkhead: { max_concurrent: 1, max_queue: 0, reserved_critical: 0 }
            breaker: { window: { kind: count, size: 2 }, min_calls: 2, failure_rate: 50 }
            """
        )
        guard case .granted(let permit) = await harness.runtime.acquire(PermitRequest()) else {
            Issue.record("no permit")
            return
        }
        #expect(permit.id.hasPrefix("pay/"))
        #expect(permit.endpoint != nil)
        #expect(permit.lease == .seconds(2))
        guard case .denied(let full) = await harness.runtime.acquire(PermitRequest()) else {
            Issue.record("a second permit while the only slot is held")
            return
        }
        #expect(full.reason == .bulkheadFull)

        #expect(harness.runtime.release(permit: permit.id, result: .failure, duration: .milliseconds(3)) == .closed)
        #expect(harness.runtime.release(permit: permit.id, result: .success, duration: nil) == nil)
        guard case .granted(let second) = await harness.runtime.acquire(PermitRequest()) else {
            Issue.record("no permit after the release")
            return
        }
        #expect(harness.runtime.release(permit: second.id, result: .failure, duration: nil) == .open)
        let counters = harness.runtime.info().counters
        #expect(counters.calls == 2)
        #expect(counters.attempts == 2)
        #expect(counters.upstreamFailure == 2)
    }

    @Test("A permit not released within its lease is recorded as a timeout and its slot freed")
    func leaseExpires() async throws {
        let harness = try RuntimeHarness("bulkhead: { max_concurrent: 1, max_queue: 0, reserved_critical: 0 }")
        guard case .granted(let permit) = await harness.runtime.acquire(PermitRequest(lease: .milliseconds(200)))
        else {
            Issue.record("no permit")
            return
        }
        harness.clock.advance(by: .milliseconds(199))
        harness.runtime.housekeeping()
        #expect(harness.runtime.info().leases == 1)
        harness.clock.advance(by: .milliseconds(1))
        harness.runtime.housekeeping()
        let info = harness.runtime.info()
        #expect(info.leases == 0)
        #expect(info.inFlight == 0)
        #expect(info.counters.timeout == 1)
        #expect(harness.runtime.release(permit: permit.id, result: .success, duration: nil) == nil)
    }

    @Test("A lease that runs out after discovery shrank the endpoint list is still recorded and freed")
    func leaseExpiresAfterTheEndpointsChanged() async throws {
        let harness = try RuntimeHarness("load_balancing: { policy: round_robin }")
        var permits: [PermitGrant] = []
        for _ in 0..<2 {
            guard case .granted(let permit) = await harness.runtime.acquire(PermitRequest(lease: .milliseconds(100)))
            else {
                Issue.record("no permit")
                return
            }
            permits.append(permit)
        }
        #expect(Set(permits.compactMap(\.endpoint)).count == 2)
        // One endpoint left: the second permit's endpoint index no longer exists.
        #expect(harness.runtime.replaceEndpoints([EndpointAddress(host: "10.0.0.9", port: 80)]))
        harness.clock.advance(by: .milliseconds(100))
        harness.runtime.housekeeping()
        let info = harness.runtime.info()
        #expect(info.leases == 0)
        #expect(info.inFlight == 0)
        #expect(info.counters.timeout == 2)
    }

    @Test("A retry permit carries its backoff, within max_attempts, the deadline and the budget")
    func retryPermits() async throws {
        let harness = try RuntimeHarness(
            """
            retry:
              max_attempts: 3
              backoff: { base: 100ms, max: 1s, jitter: none }
              budget: { ratio: 0, min_per_second: 1, ttl: 1s }
            """
        )
        guard case .granted(let retry) = await harness.runtime.acquire(PermitRequest(retry: 2)) else {
            Issue.record("retry 2 refused")
            return
        }
        #expect(retry.backoff == .milliseconds(200))
        #expect(retry.lease == .milliseconds(2_200))
        _ = harness.runtime.release(permit: retry.id, result: .success, duration: nil)

        guard case .denied(let tooMany) = await harness.runtime.acquire(PermitRequest(retry: 3)) else {
            Issue.record("retry 3 of max_attempts 3 granted")
            return
        }
        #expect(tooMany.reason == .maxAttempts)

        guard
            case .denied(let late) = await harness.runtime.acquire(PermitRequest(timeout: .milliseconds(150), retry: 2))
        else {
            Issue.record("a retry whose backoff passes the deadline granted")
            return
        }
        #expect(late.reason == .deadline)

        guard case .denied(let broke) = await harness.runtime.acquire(PermitRequest(retry: 1)) else {
            Issue.record("a retry granted with the budget spent")
            return
        }
        #expect(broke.reason == .retryBudgetExhausted)
        #expect(harness.runtime.info().inFlight == 0)
    }

    @Test("An open breaker refuses permits with retry_after")
    func openBreakerRefusesPermits() async throws {
        let harness = try RuntimeHarness()
        _ = harness.runtime.setBreaker(.open)
        guard case .denied(let denial) = await harness.runtime.acquire(PermitRequest()) else {
            Issue.record("a permit through a forced-open breaker")
            return
        }
        #expect(denial.reason == .circuitOpen)
        #expect(harness.runtime.breakerSource == .operator)
        _ = harness.runtime.setBreaker(nil)
        #expect(harness.runtime.breakerSource == .local)
    }
}

/// Suspicion counts the attempts of every door: an app's `Release` completes a streak as a guarded
/// call's attempt does, and under `follow` with a suspecting peer it opens the breaker.
@Suite struct UpstreamRuntimePermitSuspicionTests {
    @Test("Releases that fail in a row make the upstream suspect, and a peer's suspicion opens it")
    func releasesCountTowardsTheStreak() async throws {
        let harness = try RuntimeHarness(
            """
            bulkhead: { max_concurrent: 1, max_queue: 0, reserved_critical: 0 }
            breaker: { window: { kind: count, size: 100 }, min_calls: 50, failure_rate: 50 }
            """
        )
        harness.runtime.applyPeerReports([], suspecting: ["peer-b"], quorum: 1, follow: true, suspectAfter: 3)
        for expected in [CircuitBreaker.State.closed, .closed, .open] {
            guard case .granted(let permit) = await harness.runtime.acquire(PermitRequest()) else {
                Issue.record("no permit")
                return
            }
            #expect(harness.runtime.release(permit: permit.id, result: .failure, duration: nil) == expected)
        }
        #expect(harness.runtime.breakerSource == .peers)
    }
}
