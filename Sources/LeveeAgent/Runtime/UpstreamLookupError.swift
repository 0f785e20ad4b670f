/// Why no runtime was found for a call: what the front door answers (`INVALID_ARGUMENT`, `NOT_FOUND`,
/// `FAILED_PRECONDITION` on the Guard API), with a message that names the field first.
public struct UpstreamLookupError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of answer.
    public enum Code: Hashable, Sendable {
        /// The request names no upstream, or one that speaks another protocol.
        case invalidArgument
        /// No upstream has that name, and none can be made for it.
        case notFound
        /// A dynamic upstream could not be made from `defaults`.
        case failedPrecondition
    }

    public var code: Code
    /// For the app: `field: what is wrong`.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
