/// How `PacketCodec.encodePacket` wraps messages (memberlist net.go `sendMsg`, `rawSendMsgPacket`).
public struct PacketEncodeOptions: Hashable, Sendable {
    /// LZW-compress, keeping the result only when it is smaller (memberlist `EnableCompression`).
    public var compress: Bool
    /// Prepend `[12][crc32]`; memberlist does so only when the destination's PMax ≥ 5 and the node
    /// is known by name (net.go `rawSendMsgPacket`).
    public var checksum: Bool
    /// The encryption version when the codec has a keyring; serf agents send v1.
    public var encryptionVersion: EncryptionVersion

    public init(compress: Bool = false, checksum: Bool = false, encryptionVersion: EncryptionVersion = .v1) {
        self.compress = compress
        self.checksum = checksum
        self.encryptionVersion = encryptionVersion
    }
}
