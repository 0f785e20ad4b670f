/// Why a `GossipNode` could not do what it was asked.
public struct GossipNodeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The configuration does not validate; the detail names the key.
        case invalidConfiguration
        /// A join seed is not `host:port`, or its host does not resolve.
        case invalidSeed
        /// No seed answered a join.
        case joinFailed
        /// The node is not running: `run()` has not bound its sockets yet, or it has stopped.
        case notRunning
        /// The node is leaving or has left.
        case notAlive
        /// The Serf layer refused the request (size limits, unknown query); the detail says why.
        case rejected
    }

    public var code: Code
    /// What went wrong, and what to do about it.
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
