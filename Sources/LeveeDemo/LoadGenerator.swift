import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The demo's load generator: an open loop of page requests to Orders at fixed rates (a request is
/// sent on time whether or not the earlier ones were answered, as users keep arriving), each with a
/// client-visible timeout. It records every request as a ``Sample``.
struct LoadGenerator: Sendable {
    var target: String
    var orderRate: Double
    var inventoryRate: Double
    /// The run's start on the machine's monotonic clock, and how long to send for.
    var start: UInt64
    var duration: Double
    var timeout: Double

    /// The moments (seconds since the start) at which each page is requested.
    func schedule() -> [(Double, Sample.Page)] {
        func times(_ rate: Double, _ page: Sample.Page, offset: Double) -> [(Double, Sample.Page)] {
            guard rate > 0 else { return [] }
            let count = Int(duration * rate)
            return (0..<count).map { (offset + Double($0) / rate, page) }
        }
        return (times(orderRate, .order, offset: 0) + times(inventoryRate, .inventory, offset: 0.5 / inventoryRate))
            .sorted { $0.0 < $1.0 }
    }

    func run() async throws -> [Sample] {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        configuration.timeout = .init(connect: .seconds(1))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        // Before the clock starts: a few requests of each page, so that the pool's connections are open
        // and the first seconds measure Orders, not the client's connects.
        for _ in 0..<4 {
            await withDiscardingTaskGroup { group in
                for page in Sample.Page.allCases {
                    for _ in 0..<4 { group.addTask { _ = await request(page, client: client) } }
                }
            }
        }
        let log = SampleLog()
        await withDiscardingTaskGroup { group in
            for (offset, page) in schedule() {
                try? await DemoClock.sleep(until: start + UInt64(offset * 1e9))
                group.addTask {
                    log.append(await request(page, client: client))
                }
            }
        }
        try await client.shutdown()
        return log.samples.sorted { $0.sentAt < $1.sentAt }
    }

    private func request(_ page: Sample.Page, client: HTTPClient) async -> Sample {
        let sent = DemoClock.now()
        let sentAt = Double(Int64(bitPattern: sent &- start)) / 1e9
        var status = 0
        var payment: PaymentCall?
        do {
            let request = HTTPClientRequest(url: "http://\(target)/\(page.rawValue)")
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout * 1e9)))
            _ = try await response.body.collect(upTo: 1 << 20)
            status = Int(response.status.code)
            if let result = response.headers.first(name: "x-demo-payment") {
                payment = PaymentCall(
                    result: result,
                    outcome: response.headers.first(name: "x-demo-payment-outcome") ?? "direct",
                    ms: Double(response.headers.first(name: "x-demo-payment-ms") ?? "") ?? 0
                )
            }
        } catch {
            status = 0
        }
        let latencyMs = Double(DemoClock.now() - sent) / 1e6
        return Sample(page: page, sentAt: sentAt, latencyMs: latencyMs, status: status, payment: payment)
    }
}

/// The samples of the requests answered so far, appended from many tasks.
private final class SampleLog: Sendable {
    private let state = Mutex<[Sample]>([])

    func append(_ sample: Sample) { state.withLock { $0.append(sample) } }

    var samples: [Sample] { state.withLock { $0 } }
}
