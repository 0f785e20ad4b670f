/// The first byte of an encrypted payload (memberlist security.go `encryptionVersion`).
public enum EncryptionVersion: UInt8, Hashable, Sendable, CaseIterable {
    /// The plaintext is PKCS#7-padded to a multiple of 16 bytes before sealing (1–16 pad bytes).
    case paddedV0 = 0
    /// No padding; what every sender with protocol version ≥ 2 uses (memberlist.go
    /// `encryptionVersion`), so every serf agent.
    case v1 = 1

    /// memberlist security.go `nonceSize`.
    public static let nonceSize = 12
    /// memberlist security.go `tagSize`.
    public static let tagSize = 16
    static let blockSize = 16

    /// memberlist security.go `encryptedLength`: version byte, nonce, (padded) plaintext, tag.
    public func encryptedLength(plaintextCount: Int) -> Int {
        switch self {
        case .v1:
            return 1 + Self.nonceSize + plaintextCount + Self.tagSize
        case .paddedV0:
            let padded = (plaintextCount / Self.blockSize + 1) * Self.blockSize
            return 1 + Self.nonceSize + padded + Self.tagSize
        }
    }
}
