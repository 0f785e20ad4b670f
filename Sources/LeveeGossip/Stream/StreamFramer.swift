/// Reassembles the message of a TCP stream from bytes as they arrive.
///
/// Unencrypted memberlist streams have no length prefix: the receiver reads the type byte and
/// msgpack-decodes straight from the socket (memberlist net.go `readStream`, `readRemoteState`,
/// `readUserMsg`). The framer therefore re-parses its buffer on each `append` and reports `nil`
/// ("need more") until one whole message is there. An encrypted stream, `[0x0a][L u32][L bytes]`,
/// is opened once all `L` bytes are in; its plaintext may start with `compress` (9), which is then
/// unpacked before dispatch, as Go does.
///
/// The buffer never grows past `limits.maxStreamBytes` (memberlist's `maxPushStateBytes`, 20 MiB).
public struct StreamFramer: Sendable {
    public var keyring: Keyring?
    /// With a keyring, refuse plaintext streams (memberlist `GossipVerifyIncoming`, default true).
    public var verifyIncoming: Bool
    public let limits: DecodeLimits

    private var buffer: [UInt8] = []
    /// Do not re-parse until the buffer holds at least this many bytes (learned from the last miss).
    private var needed = 1

    public init(keyring: Keyring? = nil, verifyIncoming: Bool = true, limits: DecodeLimits = .defaults) {
        self.keyring = keyring
        self.verifyIncoming = verifyIncoming
        self.limits = limits
    }

    /// Bytes received but not yet part of a returned message.
    public var bufferedByteCount: Int { buffer.count }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) throws(WireError) {
        buffer.append(contentsOf: bytes)
        guard buffer.count <= limits.maxStreamBytes else {
            throw WireError(
                .limitExceeded,
                field: "stream",
                "more than \(limits.maxStreamBytes) bytes buffered without a complete message"
            )
        }
    }

    /// The next complete message, or `nil` when more bytes are needed. Its bytes leave the buffer.
    public mutating func nextMessage() throws(WireError) -> StreamMessage? {
        guard buffer.count >= needed else { return nil }
        var parser = StreamParser(keyring: keyring, verifyIncoming: verifyIncoming, limits: limits)
        do {
            let (message, consumed) = try parser.parse(buffer)
            buffer.removeFirst(consumed)
            needed = 1
            return message
        } catch {
            guard error.code == .truncated else { throw error }
            needed = max(buffer.count + 1, parser.neededTotal)
            return nil
        }
    }

    /// Parses a stream that is known to be complete (for example, read until EOF); a truncated one
    /// is an error.
    public static func decode(
        _ bytes: [UInt8],
        keyring: Keyring? = nil,
        verifyIncoming: Bool = true,
        limits: DecodeLimits = .defaults
    ) throws(WireError) -> StreamMessage {
        var parser = StreamParser(keyring: keyring, verifyIncoming: verifyIncoming, limits: limits)
        return try parser.parse(bytes).message
    }
}

/// One pass of the stream grammar over a buffer; throws `.truncated` when the buffer ends early.
private struct StreamParser {
    let keyring: Keyring?
    let verifyIncoming: Bool
    let limits: DecodeLimits
    /// When a parse runs out of bytes at a raw body of known length, the buffer size that completes it.
    private(set) var neededTotal = 0

    init(keyring: Keyring?, verifyIncoming: Bool, limits: DecodeLimits) {
        self.keyring = keyring
        self.verifyIncoming = verifyIncoming
        self.limits = limits
    }

    mutating func parse(_ bytes: [UInt8]) throws(WireError) -> (message: StreamMessage, consumed: Int) {
        var reader = ByteReader(bytes, field: "stream")
        let type = try reader.readByte()
        if type == MessageType.encrypt.rawValue {
            guard let keyring else {
                throw WireError(
                    .unsupportedMessageType,
                    field: "stream",
                    "remote state is encrypted and encryption is not configured"
                )
            }
            let length = Int(try reader.readBigEndian(byteCount: 4))
            guard length <= limits.maxStreamBytes else {
                throw WireError(
                    .limitExceeded,
                    field: "stream",
                    "encrypted length \(length) above \(limits.maxStreamBytes)"
                )
            }
            let total = 5 + length
            guard bytes.count >= total else {
                neededTotal = total
                throw WireError(.truncated, field: "stream", "encrypted body incomplete, need \(total) bytes")
            }
            let plain = try keyring.decrypt(Array(bytes[5..<total]), additionalData: Array(bytes[0..<5]))
            return (try complete(plain, allowCompress: true), total)
        }
        if keyring != nil && verifyIncoming {
            throw WireError(
                .notEncrypted,
                field: "stream",
                "encryption is configured but remote state is not encrypted"
            )
        }
        return try parsePlain(bytes, allowCompress: true)
    }

    /// Parses a plaintext message that must be entirely inside `bytes` (decrypted or decompressed).
    private mutating func complete(_ bytes: [UInt8], allowCompress: Bool) throws(WireError) -> StreamMessage {
        do {
            return try parsePlain(bytes, allowCompress: allowCompress).message
        } catch  where error.code == .truncated {
            throw WireError(.invalidValue, field: "stream", "inner message is incomplete: \(error.detail)")
        }
    }

    private mutating func parsePlain(
        _ bytes: [UInt8],
        allowCompress: Bool
    ) throws(WireError) -> (
        message: StreamMessage, consumed: Int
    ) {
        guard let type = bytes.first else {
            throw WireError(.truncated, field: "stream", "missing message type byte")
        }
        var reader = MsgpackReader(bytes, offset: 1, limits: limits)
        switch MessageType(rawValue: type) {
        case .compress where allowCompress:
            let payload = try CompressedPayload(msgpack: try reader.readValue())
            guard payload.algo == CompressedPayload.lzwAlgorithm else {
                throw WireError(.decompressionFailed, field: "compress.Algo", "unknown algorithm \(payload.algo)")
            }
            let plain = try LZWReader.decompress(payload.buf, maxOutputBytes: limits.maxDecompressedBytes)
            return (try complete(plain, allowCompress: false), reader.offset)
        case .ping:
            return (.ping(try Ping(msgpack: try reader.readValue())), reader.offset)
        case .ack:
            return (.ack(try Ack(msgpack: try reader.readValue())), reader.offset)
        case .err:
            return (.err(try ErrorResponse(msgpack: try reader.readValue())), reader.offset)
        case .user:
            let header = try UserMessageHeader(msgpack: try reader.readValue())
            let payload = try rawTail(bytes, from: reader.offset, count: header.userMsgLen, field: "UserMsgLen")
            return (.user(payload), reader.offset + payload.count)
        case .pushPull:
            let header = try PushPullHeader(msgpack: try reader.readValue())
            guard header.nodes >= 0, header.nodes <= limits.maxPushPullNodes else {
                throw WireError(.limitExceeded, field: "PushPullHeader.Nodes", "\(header.nodes) node states")
            }
            var nodes: [PushNodeState] = []
            for _ in 0..<header.nodes {
                nodes.append(try PushNodeState(msgpack: try reader.readValue()))
            }
            let userState = try rawTail(bytes, from: reader.offset, count: header.userStateLen, field: "UserStateLen")
            return (
                .pushPull(PushPull(join: header.join, nodes: nodes, userState: userState)),
                reader.offset + userState.count
            )
        default:
            throw WireError(.unsupportedMessageType, field: "stream", "message type \(type) is not valid on a stream")
        }
    }

    private mutating func rawTail(
        _ bytes: [UInt8],
        from offset: Int,
        count: Int,
        field: String
    ) throws(WireError) -> [UInt8] {
        guard count >= 0, count <= limits.maxStreamBytes else {
            throw WireError(.limitExceeded, field: field, "declared length \(count)")
        }
        let total = offset + count
        guard bytes.count >= total else {
            neededTotal = total
            throw WireError(.truncated, field: field, "raw bytes incomplete, need \(total) bytes")
        }
        return Array(bytes[offset..<total])
    }
}
