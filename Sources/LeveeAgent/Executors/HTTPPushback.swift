import LeveePolicy
import NIOHTTP1

extension ServerPushback {
    /// The header by which an HTTP upstream (an app behind another Levee agent, or the agent's own
    /// proxy answer) says whether to retry: gRPC's `grpc-retry-pushback-ms` for HTTP (gRFC A6): a
    /// non-negative number of milliseconds is "retry after that", anything else "do not retry".
    static let httpHeader = "x-levee-retry-pushback-ms"

    /// What an HTTP answer's headers say about retrying: `x-levee-retry-pushback-ms` when present,
    /// else the delay-seconds form of `Retry-After`; nil when neither says anything.
    init?(httpHeaders headers: HTTPHeaders) {
        if let value = headers.first(name: Self.httpHeader) {
            self.init(grpcRetryPushbackMilliseconds: value)
        } else if let value = headers.first(name: "retry-after") {
            self.init(retryAfter: value)
        } else {
            return nil
        }
    }
}
