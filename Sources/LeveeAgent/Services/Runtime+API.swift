import Foundation
import GRPCCore
public import LeveeAPI
import LeveeConfiguration
public import LeveePolicy
import NIOCore
import NIOHTTP1

// The Guard and Admin APIs' spelling of the runtime's domain types: the only place where the two meet.

extension Levee_V1_CallResponse {
    /// What `Call` answers for a guarded call's result.
    public init(_ result: CallResult) {
        self.init()
        outcome = Levee_V1_Outcome(result.outcome)
        switch result.answer {
        case .http(let http)?: self.http = Levee_V1_HttpResponse(http)
        case .grpc(let grpc)?: self.grpc = grpc
        case nil: break
        }
        fallback = Levee_V1_Fallback(result.fallback)
        attempts = UInt32(clamping: result.attempts)
        hedges = UInt32(clamping: result.hedges)
        winningAttempt = UInt32(clamping: result.decidingAttempt ?? 0)
        endpoint = result.endpoint?.description ?? ""
        elapsedUs = result.elapsed.microseconds
        retryAfterMs = result.retryAfter?.wireMilliseconds ?? 0
        detail = result.detail
        fault = result.fault ?? ""
        faultedAttempts = UInt32(clamping: result.faultedAttempts)
        doNotRetry = result.doNotRetry && result.fallback == nil
    }
}

extension HTTPUpstreamRequest {
    /// The request `Call`'s `http` asks for (checked by the Guard service first): an empty method is
    /// GET.
    init(_ http: Levee_V1_HttpRequest) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(http.headers.count)
        for header in http.headers { headers.add(name: header.name, value: header.value) }
        self.init(
            method: http.method.isEmpty ? .GET : HTTPMethod(rawValue: http.method.uppercased()),
            target: http.path,
            headers: headers,
            body: http.body.isEmpty ? nil : ByteBuffer(bytes: http.body)
        )
    }
}

extension Levee_V1_HttpResponse {
    /// An HTTP answer as `CallResponse` carries it.
    init(_ response: HTTPUpstreamResponse) {
        self.init()
        status = UInt32(response.status.code)
        headers = response.headers.map { name, value in
            var header = Levee_V1_Header()
            header.name = name
            header.value = value
            return header
        }
        body = Data(response.body.readableBytesView)
    }
}

extension Levee_V1_Outcome {
    public init(_ outcome: CallOutcome) {
        switch outcome {
        case .ok: self = .ok
        case .upstreamFailure: self = .upstreamFailure
        case .timeout: self = .timeout
        case .connectFailure: self = .connectFailure
        case .circuitOpen: self = .circuitOpen
        case .bulkheadFull: self = .bulkheadFull
        case .noHealthyEndpoint: self = .noHealthyEndpoint
        }
    }
}

extension Levee_V1_Fallback {
    public init(_ fallback: FallbackKind?) {
        switch fallback {
        case .stale?: self = .stale
        case .static?: self = .static
        case nil: self = .none
        }
    }
}

extension Levee_V1_AcquireResponse {
    /// What `Acquire` answers.
    public init(_ decision: PermitDecision) {
        self.init()
        switch decision {
        case .granted(let grant):
            granted = true
            permitID = grant.id
            endpoint = grant.endpoint?.description ?? ""
            backoffMs = grant.backoff.wireMilliseconds
            leaseMs = grant.lease.wireMilliseconds
        case .denied(let denial):
            granted = false
            detail = denial.detail
            retryAfterMs = denial.retryAfter?.wireMilliseconds ?? 0
            switch denial.reason {
            case .circuitOpen:
                deniedBy = .circuitOpen
                denyReason = .circuitOpen
            case .bulkheadFull:
                deniedBy = .bulkheadFull
                denyReason = .bulkheadFull
            case .deadline:
                deniedBy = .timeout
                denyReason = .deadline
            case .maxAttempts:
                denyReason = .maxAttempts
            case .retryBudgetExhausted:
                denyReason = .retryBudgetExhausted
            }
        }
    }
}

extension PermitResult {
    /// The app's report in `Release`; nil for a value this agent does not know.
    init?(_ result: Levee_V1_AttemptResult) {
        switch result {
        case .success: self = .success
        case .failure: self = .failure
        case .timeout: self = .timeout
        case .ignored: self = .ignored
        case .UNRECOGNIZED: return nil
        }
    }
}

extension Levee_V1_BreakerState {
    public init(_ state: CircuitBreaker.State) {
        switch state {
        case .closed: self = .closed
        case .open: self = .open
        case .halfOpen: self = .halfOpen
        case .forcedOpen: self = .forcedOpen
        case .forcedClosed: self = .forcedClosed
        }
    }
}

extension Levee_V1_StateSource {
    public init(_ source: BreakerSource) {
        switch source {
        case .local: self = .local
        case .peers: self = .peers
        case .operator: self = .operator
        }
    }
}

extension Levee_V1_UpstreamState {
    /// What `Watch` sends of an upstream.
    public init(_ state: UpstreamWatchState) {
        self.init()
        name = state.name
        breaker = Levee_V1_BreakerState(state.breaker)
        source = Levee_V1_StateSource(state.source)
        inFlight = UInt32(clamping: state.inFlight)
        queued = UInt32(clamping: state.queued)
        totalEndpoints = UInt32(clamping: state.totalEndpoints)
        healthyEndpoints = UInt32(clamping: state.healthyEndpoints)
        retryAfterMs = state.retryAfter?.wireMilliseconds ?? 0
        peersReportingOpen = UInt32(clamping: state.peersReportingOpen)
    }
}

extension Levee_V1_UpstreamCounters {
    public init(_ counters: UpstreamCounters) {
        self.init()
        calls = counters.calls
        ok = counters.ok
        upstreamFailure = counters.upstreamFailure
        timeout = counters.timeout
        connectFailure = counters.connectFailure
        circuitOpen = counters.circuitOpen
        bulkheadFull = counters.bulkheadFull
        noHealthyEndpoint = counters.noHealthyEndpoint
        attempts = counters.attempts
        retries = counters.retries
        retriesDeniedByBudget = counters.retriesDeniedByBudget
        fallbacksStale = counters.fallbacksStale
        fallbacksStatic = counters.fallbacksStatic
    }
}

extension Levee_V1_UpstreamInfo {
    /// What `levee upstreams` shows of an upstream.
    public init(_ info: UpstreamInfo) {
        self.init()
        name = info.name
        self.protocol = info.protocolName
        dynamic = info.isDynamic
        var breaker = Levee_V1_BreakerInfo()
        breaker.state = Levee_V1_BreakerState(info.breaker.state)
        breaker.source = Levee_V1_StateSource(info.breaker.source)
        breaker.windowCalls = UInt32(clamping: info.breaker.snapshot.calls)
        breaker.windowFailures = UInt32(clamping: info.breaker.snapshot.failures)
        breaker.windowSlowCalls = UInt32(clamping: info.breaker.snapshot.slowCalls)
        breaker.failureRate = info.breaker.snapshot.failureRate
        breaker.slowCallRate = info.breaker.snapshot.slowCallRate
        breaker.retryAfterMs = info.breaker.retryAfter?.wireMilliseconds ?? 0
        breaker.minCalls = UInt32(clamping: info.breaker.minCalls)
        breaker.failureRateThreshold = info.breaker.failureRateThreshold
        self.breaker = breaker
        inFlight = UInt32(clamping: info.inFlight)
        queued = UInt32(clamping: info.queued)
        maxConcurrent = UInt32(clamping: info.maxConcurrent)
        maxQueue = UInt32(clamping: info.maxQueue)
        budgetBalance = UInt32(clamping: info.budgetBalance)
        leases = UInt32(clamping: info.leases)
        reservedCritical = UInt32(clamping: info.reservedCritical)
        if let limiter = info.adaptive {
            var adaptive = Levee_V1_AdaptiveLimitInfo()
            adaptive.algorithm = limiter.algorithm
            adaptive.limit = UInt32(clamping: limiter.limit)
            adaptive.min = UInt32(clamping: limiter.min)
            adaptive.max = UInt32(clamping: limiter.max)
            adaptive.rttShortUs = limiter.shortRTT.microseconds
            adaptive.rttLongUs = limiter.longRTT.microseconds
            adaptive.samples = limiter.samples
            self.adaptive = adaptive
        }
        recentCalls = UInt32(clamping: info.recent.calls)
        recentFailures = UInt32(clamping: info.recent.failures)
        latencyP50Us = info.recent.p50.microseconds
        latencyP99Us = info.recent.p99.microseconds
        counters = Levee_V1_UpstreamCounters(info.counters)
        peersReportingOpen = info.peersReportingOpen
        discover = info.discover
        endpoints = info.endpoints.map { endpoint in
            var entry = Levee_V1_EndpointInfo()
            entry.address = endpoint.address
            entry.ejected = endpoint.ejectedFor != nil
            entry.inFlight = UInt32(clamping: endpoint.inFlight)
            entry.consecutiveFailures = UInt32(clamping: endpoint.consecutiveFailures)
            entry.ejectedForMs = endpoint.ejectedFor?.wireMilliseconds ?? 0
            entry.health = endpoint.health
            entry.healthDetail = endpoint.healthDetail
            entry.inRotation = endpoint.inRotation
            return entry
        }
        faults = info.faults.map(Levee_V1_Fault.init)
    }
}

extension CircuitBreaker.Override? {
    /// An operator's `SetBreaker` action: open, close, or reset (nil); nil for no action at all.
    init?(_ action: Levee_V1_BreakerAction) {
        switch action {
        case .open: self = .some(.open)
        case .close: self = .some(.closed)
        case .reset: self = .none
        default: return nil
        }
    }
}

extension RPCError {
    /// The answer to a call whose upstream could not be found.
    init(_ error: UpstreamLookupError) {
        let code: RPCError.Code =
            switch error.code {
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .failedPrecondition: .failedPrecondition
            }
        self.init(code: code, message: error.message)
    }
}

extension Duration {
    /// Whole milliseconds, rounded up, clamped to `UInt32` (for `retry_after_ms` and friends).
    var wireMilliseconds: UInt32 {
        UInt32(clamping: max(0, millisecondsRoundedUp))
    }

    /// Whole microseconds, for `elapsed_us`.
    var microseconds: UInt64 {
        UInt64(clamping: max(0, nanoseconds / 1_000))
    }
}
