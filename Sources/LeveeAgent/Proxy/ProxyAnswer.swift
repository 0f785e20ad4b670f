import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1

/// What the proxy listener writes back: the upstream's answer as it came, with Levee's headers, or the
/// agent's own answer when it refused the call or gave up.
struct ProxyAnswer: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer

    /// The headers Levee adds to every answer of a call.
    enum Header {
        static let outcome = "x-levee-outcome"
        static let attempts = "x-levee-attempts"
        static let endpoint = "x-levee-endpoint"
        static let fallback = "x-levee-fallback"
        /// With hedging: the hedges sent, and the number of the attempt whose answer this is.
        static let hedges = "x-levee-hedges"
        static let decidingAttempt = "x-levee-winning-attempt"
        /// When an injected chaos fault made the answer or failure: its id and kind (`f3 abort 500`).
        static let fault = "x-levee-fault"
        /// How many of the attempts an injected chaos fault hit (only when some were).
        static let faultedAttempts = "x-levee-faulted-attempts"
        /// `-1` when callers further up should not retry the failure (``CallResult/doNotRetry``).
        static let retryPushback = ServerPushback.httpHeader
    }

    /// The agent's own answer to a request it could not make into a call: `message` on one line.
    static func refusal(_ status: HTTPResponseStatus, _ message: String) -> ProxyAnswer {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        return ProxyAnswer(status: status, headers: headers, body: ByteBuffer(string: "levee: \(message)\n"))
    }

    /// The answer for a finished call: the upstream's (or the fallback's) answer when there is one,
    /// else the status that says why there is none (503 + `Retry-After` when the agent refused, 504
    /// for a timeout, 502 when no answer came), with a line saying why.
    init(_ result: CallResult) {
        if case .http(let answer)? = result.answer {
            status = answer.status
            headers = answer.headers
            HopByHopHeaders.strip(&headers)
            body = answer.body
        } else {
            switch result.outcome {
            case .circuitOpen, .bulkheadFull, .noHealthyEndpoint:
                self = .refusal(.serviceUnavailable, "\(result.outcome.name): \(result.detail)")
                let seconds = max(1, ((result.retryAfter?.nanoseconds ?? 0) + 999_999_999) / 1_000_000_000)
                headers.add(name: "retry-after", value: String(seconds))
            case .timeout:
                self = .refusal(.gatewayTimeout, "timeout: \(result.detail)")
            case .connectFailure, .upstreamFailure, .ok:
                self = .refusal(.badGateway, "\(result.outcome.name): \(result.detail)")
            }
        }
        headers.add(name: Header.outcome, value: result.outcome.name)
        headers.add(name: Header.attempts, value: String(result.attempts))
        if let endpoint = result.endpoint { headers.add(name: Header.endpoint, value: endpoint.description) }
        if result.hedges > 0 {
            headers.add(name: Header.hedges, value: String(result.hedges))
            if let deciding = result.decidingAttempt {
                headers.add(name: Header.decidingAttempt, value: String(deciding))
            }
        }
        if let fault = result.fault { headers.add(name: Header.fault, value: fault) }
        if result.faultedAttempts > 0 {
            headers.add(name: Header.faultedAttempts, value: String(result.faultedAttempts))
        }
        if result.doNotRetry, result.fallback == nil {
            headers.replaceOrAdd(name: Header.retryPushback, value: "-1")
        }
        switch result.fallback {
        case .stale?: headers.add(name: Header.fallback, value: "stale")
        case .static?: headers.add(name: Header.fallback, value: "static")
        case nil: break
        }
    }

    private init(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
