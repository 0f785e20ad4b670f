import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The demo's Orders: an HTTP app with a fixed pool of workers whose order page calls Inventory, then
/// Payments, and whose Inventory page calls Inventory only.
///
/// Unprotected, it calls them directly with no timeout at all, as so many apps do. Protected, it calls
/// them through the agent's plain HTTP proxy listener (`Host:` names the upstream), which applies the
/// breaker, bulkhead, timeouts and fallback. Each order answer says how its Payments call went
/// (`x-demo-payment`, `x-demo-payment-outcome`, `x-demo-payment-ms`); `/stats` shows the pool.
final class OrdersServer: Sendable {
    /// Where Orders sends its calls.
    enum Route: Sendable {
        case direct(inventory: String, payments: String)
        case agent(proxy: String)
    }

    let pool: WorkerPool
    private let route: Route
    private let client: HTTPClient

    init(pool: WorkerPool, route: Route) {
        self.pool = pool
        self.route = route
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.timeout = .init(connect: .seconds(5), read: nil)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func handle(_ request: DemoRequest) async -> DemoResponse {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        switch request.path {
        case "/order": return await pool.submit(.order, on: eventLoop)
        case "/inventory": return await pool.submit(.inventory, on: eventLoop)
        case "/stats":
            let stats = pool.stats
            return .json(
                #"{"workers":\#(stats.workers),"busy":\#(stats.busy),"on_payments":\#(stats.onPayments),"#
                    + #""queued":\#(stats.queued)}"#
            )
        case "/health": return .text(.ok, "ok")
        default: return .text(.notFound, "orders: no such path \(request.path)")
        }
    }

    /// What a worker does with a page.
    func work(_ page: Sample.Page) async -> DemoResponse {
        let stock = await call(.inventory, method: .GET, path: "/stock/42")
        guard stock.status == 200 else {
            return .text(.badGateway, "orders: inventory failed (\(stock.summary))")
        }
        guard page == .order else { return .json(#"{"page":"inventory","stock":\#(stock.body)}"#) }

        let started = DemoClock.now()
        let payment = await pool.waitingOnPayments {
            await call(.payments, method: .POST, path: "/charge", body: #"{"amount":42}"#)
        }
        let milliseconds = Double(DemoClock.now() - started) / 1e6
        let result = payment.status != 200 ? "failed" : payment.fallback ? "fallback" : "ok"
        let headers: HTTPHeaders = [
            "x-demo-payment": result, "x-demo-payment-outcome": payment.outcome ?? "direct",
            "x-demo-payment-ms": String(format: "%.3f", milliseconds),
        ]
        guard payment.status == 200 else {
            return DemoResponse(
                status: .badGateway,
                headers: headers,
                body: "orders: payments failed (\(payment.summary))\n"
            )
        }
        return .json(#"{"order":"accepted","payment":\#(payment.body)}"#, headers: headers)
    }

    enum Upstream: String { case inventory, payments }

    struct Answer {
        var status: Int
        var body: String
        /// The agent's `x-levee-outcome`, nil without an agent.
        var outcome: String?
        var fallback: Bool
        var error: String?

        var summary: String { error ?? "status \(status)" }
    }

    private func call(_ upstream: Upstream, method: HTTPMethod, path: String, body: String? = nil) async -> Answer {
        let url: String
        var request: HTTPClientRequest
        switch route {
        case .direct(let inventory, let payments):
            url = "http://\(upstream == .inventory ? inventory : payments)\(path)"
            request = HTTPClientRequest(url: url)
        case .agent(let proxy):
            request = HTTPClientRequest(url: "http://\(proxy)\(path)")
            request.headers.replaceOrAdd(name: "host", value: upstream.rawValue)
        }
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "content-type", value: "application/json")
        }
        do {
            // No timeout of Orders' own: unprotected, a call waits as long as the upstream takes.
            let response = try await client.execute(request, timeout: .hours(1))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return Answer(
                status: Int(response.status.code),
                body: String(buffer: bytes),
                outcome: response.headers.first(name: "x-levee-outcome"),
                fallback: response.headers.first(name: "x-levee-fallback") != nil
            )
        } catch {
            return Answer(status: 0, body: "", outcome: nil, fallback: false, error: "\(error)")
        }
    }
}
