/// Why the Serf layer refused a request from the application.
///
/// Received gossip never throws: malformed or unexpected input is dropped and counted in
/// `SerfCounters`.
public struct SerfError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// A user event over `userEventSizeLimit`, the 9 KiB hard cap, or the gossip packet budget.
        case userEventTooLarge
        /// A query whose encoding exceeds `querySizeLimit` or the gossip packet budget.
        case queryTooLarge
        /// A query response whose encoding exceeds `queryResponseSizeLimit`.
        case responseTooLarge
        /// Tags whose `Meta` encoding exceeds memberlist's 512 bytes.
        case tagsTooLarge
        /// A response to a query that was never delivered, was already answered, or has expired.
        case queryNotAnswerable
        /// The local node is leaving or has left.
        case notAlive
        /// A configuration value out of its domain.
        case invalidConfiguration
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
