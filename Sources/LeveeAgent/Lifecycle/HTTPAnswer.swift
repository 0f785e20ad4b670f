import NIOHTTP1

/// An answer of the HTTP listener.
struct HTTPAnswer: Sendable {
    var status: HTTPResponseStatus
    var contentType = "text/plain; charset=utf-8"
    var body: [UInt8]
    var headers: [(String, String)] = []

    init(status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    init(status: HTTPResponseStatus, _ text: String) {
        self.init(status: status, body: Array((text + "\n").utf8))
    }
}
