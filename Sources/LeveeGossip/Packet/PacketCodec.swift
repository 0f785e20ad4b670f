/// Turns UDP datagrams into memberlist messages and back.
///
/// Receiving mirrors memberlist net.go `ingestPacket` and `handleCommand`: decrypt (when a keyring
/// is set), then, at the top level only, check and strip a `hasCrc` header, then unwrap `compound`
/// and `compress` recursively. Sending mirrors `sendMsg` and `rawSendMsgPacket` in the other order:
/// compound, compress (only if smaller), CRC, encrypt.
///
/// Unlike Go, which logs and skips one bad part of a compound and goes on, any malformed part makes
/// the whole datagram throw; parts cut off by the end of a compound are dropped as in Go.
public struct PacketCodec: Sendable {
    public var keyring: Keyring?
    /// With a keyring, drop datagrams that do not decrypt (memberlist `GossipVerifyIncoming`, default
    /// true); when false they are read as plaintext.
    public var verifyIncoming: Bool
    public var limits: DecodeLimits

    public init(keyring: Keyring? = nil, verifyIncoming: Bool = true, limits: DecodeLimits = .defaults) {
        self.keyring = keyring
        self.verifyIncoming = verifyIncoming
        self.limits = limits
    }

    /// The messages of one received datagram.
    public func decodePacket(_ datagram: [UInt8]) throws(WireError) -> [Message] {
        var buffer = datagram
        if let keyring {
            do {
                buffer = try keyring.decrypt(datagram)
            } catch {
                if verifyIncoming { throw error }
            }
        }
        // net.go ingestPacket: the CRC header is recognised only on the outermost layer.
        if buffer.count >= 5 && buffer[0] == MessageType.hasCrc.rawValue {
            let expected =
                UInt32(buffer[1]) << 24 | UInt32(buffer[2]) << 16 | UInt32(buffer[3]) << 8 | UInt32(buffer[4])
            let rest = Array(buffer[5...])
            let actual = CRC32.checksum(rest)
            guard actual == expected else {
                throw WireError(
                    .checksumMismatch,
                    field: "hasCrc",
                    "CRC32 \(hex(expected)) in the header, \(hex(actual)) computed"
                )
            }
            buffer = rest
        }
        var messages: [Message] = []
        try unwrap(buffer, depth: 0, into: &messages)
        return messages
    }

    /// net.go `handleCommand`, `handleCompound`, `handleCompressed`.
    private func unwrap(_ bytes: [UInt8], depth: Int, into messages: inout [Message]) throws(WireError) {
        guard let type = bytes.first else {
            throw WireError(.truncated, field: "packet", "missing message type byte")
        }
        guard depth <= limits.maxWrapperDepth else {
            throw WireError(.limitExceeded, field: "packet", "wrappers nested deeper than \(limits.maxWrapperDepth)")
        }
        let body = Array(bytes[1...])
        switch MessageType(rawValue: type) {
        case .compound:
            for part in try Compound.decode(body: body).parts {
                try unwrap(part, depth: depth + 1, into: &messages)
            }
        case .compress:
            let payload = try CompressedPayload(msgpackBytes: body, limits: limits)
            guard payload.algo == CompressedPayload.lzwAlgorithm else {
                throw WireError(.decompressionFailed, field: "compress.Algo", "unknown algorithm \(payload.algo)")
            }
            let plain = try LZWReader.decompress(payload.buf, maxOutputBytes: limits.maxDecompressedBytes)
            try unwrap(plain, depth: depth + 1, into: &messages)
        default:
            messages.append(try Message(type: type, body: body, limits: limits))
        }
    }

    /// One datagram carrying `messages`: the message itself when there is one, else a compound.
    /// The nonce for encryption comes from `generator`.
    public func encodePacket(
        _ messages: [Message],
        options: PacketEncodeOptions = PacketEncodeOptions(),
        using generator: inout some RandomNumberGenerator
    ) throws(WireError) -> [UInt8] {
        let plain = try encodePlaintext(messages, options: options)
        guard let keyring else { return plain }
        return try keyring.encrypt(plain, version: options.encryptionVersion, using: &generator)
    }

    /// As `encodePacket(_:options:using:)` with an explicit nonce (ignored without a keyring).
    public func encodePacket(
        _ messages: [Message],
        options: PacketEncodeOptions = PacketEncodeOptions(),
        nonce: [UInt8]
    ) throws(WireError) -> [UInt8] {
        let plain = try encodePlaintext(messages, options: options)
        guard let keyring else { return plain }
        return try keyring.encrypt(plain, version: options.encryptionVersion, nonce: nonce)
    }

    private func encodePlaintext(_ messages: [Message], options: PacketEncodeOptions) throws(WireError) -> [UInt8] {
        guard let first = messages.first else {
            throw WireError(.invalidValue, field: "packet", "a packet needs at least one message")
        }
        var payload = messages.count == 1 ? first.encoded() : try Compound.encode(messages.map { $0.encoded() })
        if options.compress {
            // net.go sendMsg: compressed only "if smaller" than the original.
            let compressed =
                [MessageType.compress.rawValue] + CompressedPayload(buf: LZWWriter.compress(payload)).msgpackEncoded()
            if compressed.count < payload.count { payload = compressed }
        }
        if options.checksum {
            let crc = CRC32.checksum(payload)
            payload =
                [
                    MessageType.hasCrc.rawValue,
                    UInt8(truncatingIfNeeded: crc >> 24),
                    UInt8(truncatingIfNeeded: crc >> 16),
                    UInt8(truncatingIfNeeded: crc >> 8),
                    UInt8(truncatingIfNeeded: crc),
                ] + payload
        }
        return payload
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}
