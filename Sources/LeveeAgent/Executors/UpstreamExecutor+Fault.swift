import LeveeAPI
import LeveeClock
import LeveeConfiguration
import LeveePolicy
import NIOCore
import NIOHTTP1

/// One attempt's result, and whether an injected fault made it (rather than the upstream).
struct FaultedAttemptResult: Sendable {
    var result: AttemptResult
    var madeByFault: Bool
}

extension UpstreamExecutor {
    /// Makes an attempt through `fault` (DESIGN.md: faults wrap the executor at the attempt): its delay
    /// first, on `clock` and bounded by the attempt's timeout, then what its action says: an abort
    /// answers without calling the upstream, a reset fails as a reset, a blackhole waits out the
    /// attempt's timeout, a delay alone makes the real attempt with the time left. Whatever it makes is
    /// an ordinary `AttemptResult`, classified as usual.
    func execute(
        _ request: UpstreamRequest,
        on endpoint: EndpointAddress,
        timeout: Duration,
        remaining: Duration,
        fault: InjectedFault,
        clock: any InstantClock
    ) async -> FaultedAttemptResult {
        let label = fault.label
        let start = clock.now()
        var timeout = timeout
        var remaining = remaining
        if fault.spec.delay > .zero {
            let wait = min(fault.spec.delay, timeout)
            guard (try? await clock.sleep(until: start + wait)) != nil else {
                return FaultedAttemptResult(
                    result: .failed(.cancelledByCaller, detail: "the call was cancelled"),
                    madeByFault: false
                )
            }
            if fault.spec.delay >= timeout {
                return FaultedAttemptResult(
                    result: .failed(.timeout, detail: "attempt timed out: injected fault \(label) delayed it"),
                    madeByFault: true
                )
            }
            timeout -= wait
            remaining -= wait
        }
        switch fault.spec.action {
        case .delayOnly:
            let result = await execute(request, on: endpoint, timeout: timeout, remaining: remaining)
            return FaultedAttemptResult(result: result, madeByFault: false)
        case .abort(let status):
            return FaultedAttemptResult(
                result: Self.abort(request, httpStatus: status, label: label),
                madeByFault: true
            )
        case .abortGRPC(let code):
            return FaultedAttemptResult(result: Self.abort(request, grpcCode: code, label: label), madeByFault: true)
        case .reset:
            return FaultedAttemptResult(
                result: .failed(.reset, detail: "connection reset (injected fault \(label))"),
                madeByFault: true
            )
        case .blackhole:
            guard (try? await clock.sleep(until: clock.now() + timeout)) != nil else {
                return FaultedAttemptResult(
                    result: .failed(.cancelledByCaller, detail: "the call was cancelled"),
                    madeByFault: false
                )
            }
            return FaultedAttemptResult(
                result: .failed(.timeout, detail: "attempt timed out (injected fault \(label))"),
                madeByFault: true
            )
        }
    }

    /// An abort with an HTTP status: that answer for an HTTP request; for a gRPC request (a dynamic
    /// upstream, whose protocol the fault could not know), the gRPC status that gRPC's HTTP mapping
    /// gives it (`doc/http-grpc-status-mapping.md`).
    static func abort(_ request: UpstreamRequest, httpStatus status: Int, label: String) -> AttemptResult {
        switch request {
        case .http:
            return httpAnswer(status: status, label: label)
        case .grpc:
            let code: Int =
                switch status {
                case 400: 13
                case 401: 16
                case 403: 7
                case 404: 12
                case 429, 502, 503, 504: 14
                default: 2
                }
            return grpcAnswer(code: code, label: label)
        }
    }

    /// An abort with a gRPC code: that status for a gRPC request; for an HTTP request (a dynamic
    /// upstream), the HTTP status nearest to it (504 for DEADLINE_EXCEEDED, 503 for UNAVAILABLE, 429
    /// for RESOURCE_EXHAUSTED, else 500).
    static func abort(_ request: UpstreamRequest, grpcCode code: Int, label: String) -> AttemptResult {
        switch request {
        case .grpc:
            return grpcAnswer(code: code, label: label)
        case .http:
            let status: Int =
                switch code {
                case 4: 504
                case 8: 429
                case 14: 503
                default: 500
                }
            return httpAnswer(status: status, label: label)
        }
    }

    private static func httpAnswer(status: Int, label: String) -> AttemptResult {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        let answer = HTTPUpstreamResponse(
            status: HTTPResponseStatus(statusCode: status),
            headers: headers,
            body: ByteBuffer(string: "levee: injected fault \(label)\n")
        )
        return .answered(.http(answer), status: .http(status), pushback: nil)
    }

    private static func grpcAnswer(code: Int, label: String) -> AttemptResult {
        var answer = Levee_V1_GrpcResponse()
        answer.code = UInt32(code)
        answer.message = "injected fault \(label)"
        return .answered(.grpc(answer), status: .grpc(code), pushback: nil)
    }
}

extension UpstreamRequest {
    /// The request's value for the header (HTTP) or metadata key (gRPC) `name`, in any case; nil when it
    /// has none. What a fault's `--header` matches.
    func headerValue(named name: String) -> String? {
        switch self {
        case .http(let http):
            return http.headers.first(name: name)
        case .grpc(let grpc):
            let lowered = name.lowercased()
            return grpc.metadata.first { $0.name.lowercased() == lowered }?.value
        }
    }
}
