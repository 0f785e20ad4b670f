import Crypto

/// Sealing and opening payloads (memberlist security.go `encryptPayload`, `decryptPayload`).
///
/// Layout: `[version][12-byte nonce][ciphertext ‖ 16-byte tag]`. UDP packets authenticate no
/// additional data in v0.2.2 (labels came in v0.3.0); an encrypted stream authenticates its 5-byte
/// `[0x0a][length u32]` header (net.go `encryptLocalState`).
extension Keyring {
    /// Seals `plaintext` with the primary key and the given nonce.
    public func encrypt(
        _ plaintext: [UInt8],
        version: EncryptionVersion = .v1,
        nonce: [UInt8],
        additionalData: [UInt8] = []
    ) throws(WireError) -> [UInt8] {
        guard nonce.count == EncryptionVersion.nonceSize else {
            throw WireError(.invalidValue, field: "nonce", "nonce must be 12 bytes, got \(nonce.count)")
        }
        var sealedInput = plaintext
        if version == .paddedV0 {
            // security.go pkcs7encode: always 1…16 bytes, each holding the pad length.
            let pad = EncryptionVersion.blockSize - plaintext.count % EncryptionVersion.blockSize
            sealedInput.append(contentsOf: repeatElement(UInt8(pad), count: pad))
        }
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(
                sealedInput,
                using: SymmetricKey(data: primaryKey),
                nonce: try AES.GCM.Nonce(data: nonce),
                authenticating: additionalData
            )
        } catch {
            throw WireError(.invalidValue, field: "encrypt", "AES-GCM seal failed: \(error)")
        }
        var output: [UInt8] = [version.rawValue]
        output.reserveCapacity(version.encryptedLength(plaintextCount: plaintext.count))
        output.append(contentsOf: nonce)
        output.append(contentsOf: box.ciphertext)
        output.append(contentsOf: box.tag)
        return output
    }

    /// Seals `plaintext` with a fresh nonce drawn from `generator` (a CSPRNG in production, such as
    /// `SystemRandomNumberGenerator`; a seeded one in tests).
    public func encrypt(
        _ plaintext: [UInt8],
        version: EncryptionVersion = .v1,
        additionalData: [UInt8] = [],
        using generator: inout some RandomNumberGenerator
    ) throws(WireError) -> [UInt8] {
        var nonce: [UInt8] = []
        nonce.reserveCapacity(EncryptionVersion.nonceSize)
        while nonce.count < EncryptionVersion.nonceSize {
            let word = generator.next()
            for shift in stride(from: 0, to: 64, by: 8) where nonce.count < EncryptionVersion.nonceSize {
                nonce.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return try encrypt(plaintext, version: version, nonce: nonce, additionalData: additionalData)
    }

    /// Opens `payload` with the first key that authenticates it (security.go `decryptPayload`).
    ///
    /// Versions above 1 and payloads shorter than an empty message's overhead are rejected before
    /// any key is tried. Unlike Go's `pkcs7decode`, a v0 pad byte of 0 or larger than the plaintext
    /// is an error rather than a panic.
    public func decrypt(_ payload: [UInt8], additionalData: [UInt8] = []) throws(WireError) -> [UInt8] {
        guard let first = payload.first else {
            throw WireError(.decryptionFailed, field: "encrypt", "cannot decrypt an empty payload")
        }
        guard let version = EncryptionVersion(rawValue: first) else {
            throw WireError(.decryptionFailed, field: "encrypt", "unsupported encryption version \(first)")
        }
        let minimum = version == .v1 ? version.encryptedLength(plaintextCount: 0) : 1 + 12 + 16 + 16
        guard payload.count >= minimum else {
            throw WireError(
                .decryptionFailed,
                field: "encrypt",
                "payload of \(payload.count) bytes is too small to decrypt"
            )
        }
        let nonceEnd = 1 + EncryptionVersion.nonceSize
        let tagStart = payload.count - EncryptionVersion.tagSize
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.SealedBox(
                nonce: try AES.GCM.Nonce(data: payload[1..<nonceEnd]),
                ciphertext: payload[nonceEnd..<tagStart],
                tag: payload[tagStart...]
            )
        } catch {
            throw WireError(.decryptionFailed, field: "encrypt", "malformed sealed box: \(error)")
        }
        for key in keys {
            guard let opened = try? AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: additionalData)
            else { continue }
            var plain = Array(opened)
            if version == .paddedV0 {
                guard let pad = plain.last, pad >= 1, pad <= EncryptionVersion.blockSize, Int(pad) <= plain.count
                else {
                    throw WireError(.decryptionFailed, field: "encrypt", "invalid PKCS#7 padding")
                }
                plain.removeLast(Int(pad))
            }
            return plain
        }
        throw WireError(.decryptionFailed, field: "encrypt", "no installed key could decrypt the message")
    }
}
