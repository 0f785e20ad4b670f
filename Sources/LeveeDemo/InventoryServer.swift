import NIOHTTP1

/// The demo's Inventory: always healthy, always fast (`GET /stock/SKU`).
enum InventoryServer {
    static func handle(_ request: DemoRequest) async -> DemoResponse {
        if request.path == "/health" { return .text(.ok, "ok") }
        guard request.path.hasPrefix("/stock/") else {
            return .text(.notFound, "inventory: no such path \(request.path)")
        }
        let sku = request.path.dropFirst("/stock/".count)
        return .json(#"{"sku":"\#(sku)","available":7}"#)
    }
}
