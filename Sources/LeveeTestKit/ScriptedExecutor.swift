import Foundation
import LeveeAPI
public import LeveeAgent
public import LeveeConfiguration
public import LeveePolicy
import NIOCore
import NIOHTTP1
import Synchronization

/// An `UpstreamExecutor` that answers, fails, stalls or resets on the script's word, on a `TestClock`:
/// the upstream runtime's calls, retries, leases and fallbacks run in a test without sockets or
/// wall-clock time.
///
/// Each attempt takes the next step of its endpoint's script, else of the shared script, else the
/// default step. Every attempt is recorded (`sent`), with the timeout and remaining time it was given.
public final class ScriptedExecutor: UpstreamExecutor {
    /// What one attempt does.
    public indirect enum Step: Sendable {
        /// Answers HTTP `status` with `body`; `pushback` is what the answer says about retrying.
        case http(Int, body: String = "", pushback: ServerPushback? = nil)
        /// Answers with gRPC status `code` and message bytes `body`.
        case grpc(Int, body: [UInt8] = [])
        /// Fails at once: `.connectFailure` (refused) or `.reset`.
        case fail(TransportFailure)
        /// Never answers: the attempt runs into its own timeout on the clock.
        case stall
        /// Waits `delay` on the clock (or until the attempt's timeout, if sooner), then does `step`.
        case after(Duration, Step)
    }

    /// One attempt as the runtime sent it.
    public struct Sent: Sendable {
        public var endpoint: EndpointAddress
        public var timeout: Duration
        public var remaining: Duration
        public var request: UpstreamRequest
    }

    private struct State {
        var shared: [Step] = []
        var byEndpoint: [EndpointAddress: [Step]] = [:]
        var sent: [Sent] = []
        var shutdowns = 0
    }

    private let clock: TestClock
    private let defaultStep: Step
    private let state = Mutex(State())

    /// An executor on `clock` whose attempts do `defaultStep` when no script says otherwise.
    public init(clock: TestClock, default defaultStep: Step = .http(200)) {
        self.clock = clock
        self.defaultStep = defaultStep
    }

    /// Adds steps to the shared script, or to `endpoint`'s own.
    public func script(_ steps: Step..., on endpoint: EndpointAddress? = nil) {
        state.withLock { state in
            if let endpoint {
                state.byEndpoint[endpoint, default: []].append(contentsOf: steps)
            } else {
                state.shared.append(contentsOf: steps)
            }
        }
    }

    /// The attempts sent so far, in order.
    public var sent: [Sent] {
        state.withLock { $0.sent }
    }

    /// How many times the runtime shut this executor down.
    public var shutdowns: Int {
        state.withLock { $0.shutdowns }
    }

    public func execute(
        _ request: UpstreamRequest,
        on endpoint: EndpointAddress,
        timeout: Duration,
        remaining: Duration
    ) async -> AttemptResult {
        let start = clock.now()
        let step = state.withLock { state -> Step in
            state.sent.append(Sent(endpoint: endpoint, timeout: timeout, remaining: remaining, request: request))
            if var own = state.byEndpoint[endpoint], !own.isEmpty {
                let step = own.removeFirst()
                state.byEndpoint[endpoint] = own
                return step
            }
            return state.shared.isEmpty ? defaultStep : state.shared.removeFirst()
        }
        return await perform(step, deadline: start + timeout)
    }

    private func perform(_ step: Step, deadline: Instant) async -> AttemptResult {
        switch step {
        case .http(let status, let body, let pushback):
            let response = HTTPUpstreamResponse(
                status: HTTPResponseStatus(statusCode: status),
                body: ByteBuffer(string: body)
            )
            return .answered(.http(response), status: .http(status), pushback: pushback)
        case .grpc(let code, let body):
            var response = Levee_V1_GrpcResponse()
            response.code = UInt32(code)
            response.body = Data(body)
            return .answered(.grpc(response), status: .grpc(code), pushback: nil)
        case .fail(let failure):
            return .failed(failure, detail: "scripted \(failure)")
        case .stall:
            return await sleep(until: deadline) ?? .failed(.timeout, detail: "no answer within the attempt's timeout")
        case .after(let delay, let next):
            let wake = clock.now() + delay
            if wake >= deadline {
                return await sleep(until: deadline)
                    ?? .failed(.timeout, detail: "no answer within the attempt's timeout")
            }
            if let cancelled = await sleep(until: wake) { return cancelled }
            return await perform(next, deadline: deadline)
        }
    }

    /// Sleeps on the clock; returns the result of a cancelled attempt if the caller went away.
    private func sleep(until instant: Instant) async -> AttemptResult? {
        do {
            try await clock.sleep(until: instant)
            return nil
        } catch {
            return .failed(.cancelledByCaller, detail: "the call was cancelled")
        }
    }

    public func shutdown() async {
        state.withLock { $0.shutdowns += 1 }
    }
}
