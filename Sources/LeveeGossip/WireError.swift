/// Why a piece of gossip could not be decoded or encoded.
///
/// Every decoding entry point of the codec throws this and nothing else, and never traps: the bytes come
/// from the network and may be hostile. `code` says what kind of problem it was, `field` where it was
/// (a struct key such as `"Alive.Vsn"`, or a layer such as `"compound"`), and `detail` the specifics.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public enum Code: String, Hashable, Sendable {
        /// The input ended before a complete value; on a stream this means "wait for more bytes".
        case truncated
        /// A msgpack byte that starts no value (`0xc1`) or a value that msgpack cannot express.
        case invalidMsgpack
        /// A value of the wrong msgpack type for the field, or a number that does not fit it.
        case typeMismatch
        /// A declared length, count, nesting depth or decompressed size above the configured limit.
        case limitExceeded
        /// A field whose value is out of its domain (a 5-byte `Vsn`, a bad key size, …).
        case invalidValue
        /// A message type byte that is not valid where it appeared.
        case unsupportedMessageType
        /// The CRC-32 of a `hasCrc` packet does not match its contents.
        case checksumMismatch
        /// The LZW stream is malformed (invalid code, missing EOF code) or uses an unknown algorithm.
        case decompressionFailed
        /// No key of the keyring opens the payload, or the payload is not an encrypted message at all.
        case decryptionFailed
        /// Encryption was required but the payload or stream was plaintext.
        case notEncrypted
    }

    public var code: Code
    /// Where the problem is: a struct field (`"Ping.SeqNo"`) or a framing layer (`"compound"`).
    public var field: String
    /// A human description of what was wrong.
    public var detail: String

    public init(_ code: Code, field: String, _ detail: String) {
        self.code = code
        self.field = field
        self.detail = detail
    }

    public var description: String {
        "\(code.rawValue) at \(field): \(detail)"
    }
}
