import Foundation
public import LeveeAPI
import LeveeConfiguration
import LeveeGossipNIO
public import LeveePolicy
import Synchronization

/// What the app asked for besides the request itself.
public struct GuardedCallOptions: Sendable {
    /// The app's own timeout (`timeout_ms`), if any.
    public var timeout: Duration?
    /// The deadline of the Guard RPC itself, if its client set one.
    public var rpcDeadline: Deadline
    public var priority: Priority
    /// Makes a non-idempotent request safe to retry.
    public var idempotencyKey: String
    /// The stale-fallback key; empty means derived from the request.
    public var cacheKey: String

    public init(
        timeout: Duration? = nil,
        rpcDeadline: Deadline = .none,
        priority: Priority = .normal,
        idempotencyKey: String = "",
        cacheKey: String = ""
    ) {
        self.timeout = timeout
        self.rpcDeadline = rpcDeadline
        self.priority = priority
        self.idempotencyKey = idempotencyKey
        self.cacheKey = cacheKey
    }
}

extension UpstreamRuntime {
    /// Makes one guarded call: breaker, bulkhead, deadline, attempts with retries under the budget,
    /// fallback. Never throws: every way it can end is a `CallResponse` outcome.
    public func call(_ request: UpstreamRequest, options: GuardedCallOptions) async -> Levee_V1_CallResponse {
        let start = clock.now()
        let policy = configuration.policy
        let deadline = policy.timeouts.deadline(requested: options.timeout, now: start).earliest(options.rpcDeadline)
        // Only an upstream with a stale fallback keeps answers: no key to build otherwise (for gRPC it
        // would encode the whole message).
        let cacheKey =
            configuration.fallback.stale == nil ? nil : Self.cacheKey(for: request, explicit: options.cacheKey)
        state.withLock { $0.counters.calls += 1 }

        var response = Levee_V1_CallResponse()
        func finish(_ outcome: Levee_V1_Outcome, _ detail: String) -> Levee_V1_CallResponse {
            response.outcome = outcome
            response.detail = detail
            if outcome != .ok {
                applyFallback(to: &response, cacheKey: cacheKey, protocolKind: request.protocolKind)
            }
            response.elapsedUs = (clock.now() - start).microseconds
            count(response)
            return response
        }

        // An expired deadline sends nothing.
        if deadline.isExpired(now: start) {
            metrics.reject(.deadline)
            return finish(.timeout, "the deadline was already spent when the call arrived: nothing sent")
        }

        // The breaker first, so that an open breaker rejects at once, without queueing.
        var permit: CircuitBreaker.Permit
        switch acquireBreaker() {
        case .admitted(let admitted, _):
            permit = admitted
        case .rejected(let rejection):
            response.retryAfterMs = rejection.retryAfter?.wireMilliseconds ?? 0
            metrics.reject(.circuitOpen)
            return finish(.circuitOpen, Self.describe(rejection))
        }

        switch await acquireSlot(priority: options.priority, deadline: deadline) {
        case .acquired:
            break
        case .rejected(let reason):
            state.withLock { _ = $0.breaker.release(permit) }
            metrics.reject(.bulkheadFull)
            return finish(.bulkheadFull, reason)
        }
        state.withLock { state in
            state.callsInProgress += 1
            state.budget.deposit(now: clock.now())
        }
        defer {
            state.withLock { $0.callsInProgress -= 1 }
            releaseSlot(priority: options.priority)
        }

        let isIdempotent: Bool =
            switch request {
            case .http(let http):
                RequestIdempotency.isIdempotent(
                    httpMethod: http.method.isEmpty ? "GET" : http.method.uppercased(),
                    hasIdempotencyKey: !options.idempotencyKey.isEmpty
                )
            case .grpc(let grpc):
                !options.idempotencyKey.isEmpty || retryPolicy.isIdempotent(grpcMethod: grpc.method)
            }

        var backoff = retryPolicy.makeBackoff()
        var avoiding = EndpointSet()
        var attempts = 0
        var last: AttemptResult?
        var stopDetail = ""

        attempting: while true {
            if attempts > 0 {
                // Each attempt asks the breaker: a retry must not pass an open breaker either.
                switch acquireBreaker() {
                case .admitted(let admitted, _):
                    permit = admitted
                case .rejected(let rejection):
                    stopDetail = "; no retry: \(Self.describe(rejection))"
                    break attempting
                }
            }
            let now = clock.now()
            let picked = state.withLock { state -> (Int, EndpointAddress, UInt64)? in
                guard
                    let endpoint = state.balancer.pick(
                        outliers: state.outliers,
                        now: now,
                        avoiding: avoiding,
                        using: &state.rng
                    )
                else { return nil }
                state.balancer.onAttemptStarted(endpoint: endpoint)
                return (endpoint, state.endpoints[endpoint], state.endpointGeneration)
            }
            guard let (endpoint, address, generation) = picked else {
                state.withLock { _ = $0.breaker.release(permit) }
                if last == nil {
                    metrics.reject(.noHealthyEndpoint)
                    return finish(.noHealthyEndpoint, "the upstream has no endpoint to call")
                }
                break attempting
            }
            let attemptTimeout = deadline.attemptTimeout(configured: policy.timeouts.attempt, now: now)
            attempts += 1
            response.attempts = UInt32(attempts)
            response.endpoint = address.description

            let result = await executor.execute(
                request,
                on: address,
                timeout: attemptTimeout,
                remaining: deadline.remaining(now: now)
            )
            let end = clock.now()
            let outcome: AttemptOutcome
            let status: UpstreamStatus?
            let pushback: ServerPushback?
            switch result {
            case .answered(_, let answered, let said):
                outcome = classifier.classify(answered)
                status = answered
                pushback = said
            case .failed(let failure, _):
                outcome = classifier.classify(failure)
                status = nil
                pushback = nil
            }
            last = result

            let (decision, transition, event) = state.withLock { state in
                let transition = state.breaker.record(outcome, for: permit, duration: end - now, now: end)
                var event: OutlierEvent?
                if generation == state.endpointGeneration {
                    event = state.outliers.record(endpoint: endpoint, outcome: outcome, now: end)
                    state.balancer.onAttemptFinished(endpoint: endpoint)
                }
                state.counters.attempts += 1
                let decision = retryPolicy.decide(
                    outcome: outcome,
                    status: status,
                    isIdempotent: isIdempotent,
                    attemptsMade: attempts,
                    pushback: pushback,
                    endpoint: endpoint,
                    deadline: deadline,
                    now: end,
                    budget: &state.budget,
                    backoff: &backoff,
                    using: &state.rng
                )
                switch decision {
                case .retry: state.counters.retries += 1
                case .stop(.budgetExhausted): state.counters.retriesDeniedByBudget += 1
                case .stop: break
                }
                return (decision, transition, event)
            }
            note(transition)
            note(event, endpoint: address)
            metrics.recordAttempt(duration: end - now)
            switch decision {
            case .retry: metrics.recordRetry(allowed: true)
            case .stop(.budgetExhausted): metrics.recordRetry(allowed: false)
            case .stop: break
            }

            guard case .retry(let delay, let avoid) = decision else {
                if case .stop(let reason) = decision { stopDetail = Self.describe(reason, attempts: attempts) }
                break attempting
            }
            avoiding.insert(avoid)
            if delay > .zero {
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    stopDetail = "; cancelled during backoff"
                    break attempting
                }
            }
        }

        guard let last else { return finish(.noHealthyEndpoint, "no endpoint was tried") }
        switch last {
        case .answered(let answer, let status, _):
            switch answer {
            case .http(let http): response.http = http
            case .grpc(let grpc): response.grpc = grpc
            }
            if classifier.classify(status).isFailure {
                return finish(.upstreamFailure, "upstream answered \(Self.describe(status))\(stopDetail)")
            }
            if let cacheKey {
                let now = clock.now()
                state.withLock { $0.stale?.store(answer, for: cacheKey, now: now) }
            }
            return finish(.ok, "upstream answered \(Self.describe(status))")
        case .failed(let failure, let detail):
            switch failure {
            case .connectFailure: return finish(.connectFailure, detail + stopDetail)
            case .timeout: return finish(.timeout, detail + stopDetail)
            case .reset: return finish(.upstreamFailure, detail + stopDetail)
            case .cancelledByCaller: return finish(.timeout, detail)
            }
        }
    }

    /// Asks the breaker for a permit and logs a transition the asking caused (OPEN → HALF_OPEN).
    func acquireBreaker() -> CircuitBreaker.Admission {
        let now = clock.now()
        let admission = state.withLock { $0.breaker.tryAcquire(now: now) }
        note(admission.transition)
        return admission
    }

    /// Replaces a failed call's body with the stale answer for its key, or else the static answer,
    /// when the upstream's `fallback.on` lists the outcome.
    private func applyFallback(
        to response: inout Levee_V1_CallResponse,
        cacheKey: String?,
        protocolKind: UpstreamProtocol
    ) {
        let fallback = configuration.fallback
        guard let trigger = FallbackTrigger(response.outcome), fallback.on.contains(trigger) else { return }
        if let cacheKey {
            let now = clock.now()
            if let (answer, age) = state.withLock({ $0.stale?.lookup(cacheKey, now: now) }) {
                switch answer {
                case .http(let http): response.http = http
                case .grpc(let grpc): response.grpc = grpc
                }
                response.fallback = .stale
                response.detail += "; served the stale answer from \(age.configDescription) ago"
                return
            }
        }
        if let answer = fallback.static {
            switch protocolKind {
            case .http:
                var http = Levee_V1_HttpResponse()
                http.status = UInt32(clamping: answer.status)
                http.headers = answer.headers.map { field in
                    var header = Levee_V1_Header()
                    header.name = field.name
                    header.value = field.value
                    return header
                }
                http.body = Data(answer.body)
                response.http = http
            case .grpc:
                var grpc = Levee_V1_GrpcResponse()
                grpc.code = UInt32(clamping: answer.grpcCode)
                grpc.message = answer.grpcMessage
                grpc.body = Data(answer.body)
                response.grpc = grpc
            }
            response.fallback = .static
            response.detail += "; served the static fallback"
        }
    }

    private func count(_ response: Levee_V1_CallResponse) {
        let now = clock.now()
        let elapsed = Duration.microseconds(Int64(clamping: response.elapsedUs))
        state.withLock { state in
            state.recent.record(elapsed, failed: response.outcome != .ok, now: now)
            switch response.outcome {
            case .ok: state.counters.ok += 1
            case .upstreamFailure: state.counters.upstreamFailure += 1
            case .timeout: state.counters.timeout += 1
            case .connectFailure: state.counters.connectFailure += 1
            case .circuitOpen: state.counters.circuitOpen += 1
            case .bulkheadFull: state.counters.bulkheadFull += 1
            case .noHealthyEndpoint: state.counters.noHealthyEndpoint += 1
            default: break
            }
            switch response.fallback {
            case .stale: state.counters.fallbacksStale += 1
            case .static: state.counters.fallbacksStatic += 1
            default: break
            }
        }
        metrics.recordCall(response.outcome, fallback: response.fallback, duration: elapsed)
    }

    /// The stale-fallback key: the app's, or "METHOD path" for reads, or the gRPC method and message.
    static func cacheKey(for request: UpstreamRequest, explicit: String) -> String? {
        if !explicit.isEmpty { return explicit }
        switch request {
        case .http(let http):
            let method = http.method.isEmpty ? "GET" : http.method.uppercased()
            guard method == "GET" || method == "HEAD" else { return nil }
            return "\(method) \(http.path)"
        case .grpc(let grpc):
            return "\(grpc.method) \(grpc.message.base64EncodedString())"
        }
    }

    static func describe(_ rejection: CircuitBreaker.Rejection) -> String {
        switch rejection {
        case .open(let retryAfter): "circuit open: next probe in \(retryAfter.wireMilliseconds)ms"
        case .probesInFlight: "circuit half-open: the probe calls are out"
        case .forcedOpen: "circuit forced open by an operator"
        }
    }

    static func describe(_ status: UpstreamStatus) -> String {
        switch status {
        case .http(let code): "HTTP \(code)"
        case .grpc(let code): "gRPC status \(code)"
        }
    }

    static func describe(_ reason: RetryStopReason, attempts: Int) -> String {
        switch reason {
        case .succeeded, .ignored: ""
        case .notRetryable: attempts > 1 ? " after \(attempts) attempts" : ""
        case .notIdempotent: "; not retried: the request is not idempotent (no idempotency key)"
        case .attemptsExhausted: " after \(attempts) attempts (max_attempts)"
        case .serverPushback: "; not retried: the upstream asked not to be"
        case .deadline: "; not retried: no time left before the deadline"
        case .budgetExhausted: "; not retried: the retry budget is exhausted"
        }
    }
}

extension FallbackTrigger {
    /// The trigger for a call's outcome; `nil` for OK.
    init?(_ outcome: Levee_V1_Outcome) {
        switch outcome {
        case .upstreamFailure: self = .upstreamFailure
        case .timeout: self = .timeout
        case .connectFailure: self = .connectFailure
        case .circuitOpen: self = .circuitOpen
        case .bulkheadFull: self = .bulkheadFull
        case .noHealthyEndpoint: self = .noHealthyEndpoint
        default: return nil
        }
    }
}
