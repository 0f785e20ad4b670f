/// Writes a stream message the way memberlist does (net.go `rawSendMsgStream`,
/// `encryptLocalState`): compress the whole message first, then encrypt.
///
/// On streams memberlist compresses unconditionally when compression is on, even when the result is
/// larger. Encryption frames the sealed payload as `[0x0a][length u32 BE][sealed]` and authenticates
/// those 5 header bytes as GCM additional data.
public struct StreamEncoder: Sendable {
    public var compress: Bool
    public var keyring: Keyring?
    public var encryptionVersion: EncryptionVersion

    public init(compress: Bool = false, keyring: Keyring? = nil, encryptionVersion: EncryptionVersion = .v1) {
        self.compress = compress
        self.keyring = keyring
        self.encryptionVersion = encryptionVersion
    }

    /// Encodes `message`, drawing an encryption nonce from `generator` when a keyring is set.
    public func encode(
        _ message: StreamMessage,
        using generator: inout some RandomNumberGenerator
    ) throws(WireError) -> [UInt8] {
        var payload = message.encoded()
        if compress {
            payload =
                [MessageType.compress.rawValue] + CompressedPayload(buf: LZWWriter.compress(payload)).msgpackEncoded()
        }
        guard let keyring else { return payload }
        let length = encryptionVersion.encryptedLength(plaintextCount: payload.count)
        guard length <= Int(UInt32.max) else {
            throw WireError(.limitExceeded, field: "encrypt", "stream payload of \(payload.count) bytes is too large")
        }
        let header: [UInt8] = [
            MessageType.encrypt.rawValue,
            UInt8(truncatingIfNeeded: length >> 24),
            UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8),
            UInt8(truncatingIfNeeded: length),
        ]
        return header
            + (try keyring.encrypt(payload, version: encryptionVersion, additionalData: header, using: &generator))
    }
}
