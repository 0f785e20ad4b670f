import NIOHTTP1
import Synchronization

/// The demo's Payments: `POST /charge` answers 200 at once while healthy; while sick it waits
/// `sickLatency` (the chapter's 10 s), then answers 500. The orchestrator switches it with
/// `POST /control/sick` and `POST /control/healthy`; a request keeps the state it arrived in.
final class PaymentsServer: Sendable {
    private let sick = Mutex(false)
    private let sickLatency: Double

    init(sickLatency: Double) {
        self.sickLatency = sickLatency
    }

    func handle(_ request: DemoRequest) async -> DemoResponse {
        switch (request.method, request.path) {
        case (.POST, "/control/sick"):
            sick.withLock { $0 = true }
            return .text(.ok, "sick")
        case (.POST, "/control/healthy"):
            sick.withLock { $0 = false }
            return .text(.ok, "healthy")
        case (_, "/health"):
            return .text(.ok, "ok")
        case (_, "/charge"):
            guard sick.withLock({ $0 }) else { return .json(#"{"status":"paid"}"#) }
            try? await Task.sleep(nanoseconds: UInt64(sickLatency * 1e9))
            return .json(#"{"error":"payment processor unavailable"}"#, status: .internalServerError)
        default:
            return .text(.notFound, "payments: no such path \(request.path)")
        }
    }
}
