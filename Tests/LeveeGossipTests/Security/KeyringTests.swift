import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

struct KeyringTests {
    @Test("G7: AES-256-GCM v1 with the captured nonce gives the captured ciphertext and tag")
    func goldenEncryption() throws {
        let keyring = try Keyring(primary: Golden.g7Key)
        let sealed = try keyring.encrypt(Golden.g7Plain, version: .v1, nonce: Golden.g7Nonce)
        #expect(sealed.hexString == Golden.g7Datagram.hexString)
        #expect(try keyring.decrypt(Golden.g7Datagram) == Golden.g7Plain)
        #expect(sealed.count == 96)
    }

    @Test("serf -encrypt base64 keys", arguments: [16, 24, 32])
    func serfKeys(size: Int) throws {
        let key = (0..<size).map { UInt8($0) }
        let text = Keyring.encodeKey(key)
        #expect(try Keyring(serfEncryptKey: text).primaryKey == key)
    }

    @Test("the reference's -encrypt value is bytes 00…1f")
    func referenceKey() throws {
        #expect(try Keyring(serfEncryptKey: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").primaryKey == Golden.g7Key)
    }

    @Test("a key split by CR/LF reads as serf reads it (Go's base64.StdEncoding skips them)")
    func keySplitByLineBreaks() throws {
        let text = "AAECAwQFBgcICQoLDA0ODxAR\r\nEhMUFRYXGBkaGxwdHh8=\r\n"
        #expect(try Keyring(serfEncryptKey: text).primaryKey == Golden.g7Key)
    }

    @Test(
        "bad keys are refused",
        arguments: [
            "AAECAwQFBgcICQoLDA0O", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "not base64!", "", "AAEC====",
            "AA=A",
        ]
    )
    func badKeys(text: String) {
        #expect(throws: WireError.self) { try Keyring(serfEncryptKey: text) }
    }

    @Test("v0 pads with PKCS#7 and every length round-trips", arguments: [EncryptionVersion.paddedV0, .v1])
    func roundTrip(version: EncryptionVersion) throws {
        var random = SeededRandom(seed: 7)
        let keyring = try Keyring(primary: [UInt8](repeating: 1, count: 16))
        for count in [0, 1, 15, 16, 17, 100] {
            let plain = [UInt8](repeating: 0x5a, count: count)
            let sealed = try keyring.encrypt(plain, version: version, using: &random)
            #expect(sealed.count == version.encryptedLength(plaintextCount: count))
            #expect(sealed[0] == version.rawValue)
            #expect(try keyring.decrypt(sealed) == plain)
        }
        #expect(EncryptionVersion.v1.encryptedLength(plaintextCount: 0) == 29)
    }

    @Test("every key is tried on decrypt, the primary encrypts, rotation works")
    func rotation() throws {
        let old = [UInt8](repeating: 1, count: 32)
        let new = [UInt8](repeating: 2, count: 24)
        var random = SeededRandom(seed: 1)
        let sealedWithOld = try Keyring(primary: old).encrypt([1, 2, 3], using: &random)
        var keyring = try Keyring(primary: new, others: [old])
        #expect(try keyring.decrypt(sealedWithOld) == [1, 2, 3])
        #expect(throws: WireError.self) { try keyring.removeKey(new) }
        try keyring.useKey(old)
        try keyring.removeKey(new)
        #expect(keyring.keys == [old])
        #expect(throws: WireError.self) { try Keyring(primary: new).decrypt(sealedWithOld) }
    }

    @Test(
        "hostile ciphertexts are errors",
        arguments: [
            [UInt8](), [2] + [UInt8](repeating: 0, count: 40), [1] + [UInt8](repeating: 0, count: 27),
            [0] + [UInt8](repeating: 0, count: 30),
        ]
    )
    func hostile(payload: [UInt8]) throws {
        let keyring = try Keyring(primary: Golden.g7Key)
        #expect {
            _ = try keyring.decrypt(payload)
        } throws: { error in
            (error as? WireError)?.code == .decryptionFailed
        }
    }

    @Test("a flipped bit or wrong additional data fails authentication")
    func tamper() throws {
        let keyring = try Keyring(primary: Golden.g7Key)
        var tampered = Golden.g7Datagram
        tampered[40] ^= 1
        #expect(throws: WireError.self) { try keyring.decrypt(tampered) }
        #expect(throws: WireError.self) { try keyring.decrypt(Golden.g7Datagram, additionalData: [0x0a]) }
    }
}
