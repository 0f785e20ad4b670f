import LeveePolicy
import Testing

/// The one base64 decoder, for `gossip.encrypt_key` and serf's `-encrypt`: Go's `base64.StdEncoding`.
@Suite struct Base64Tests {
    /// RFC 4648 §10's test vectors.
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func everyByteAndLengthRoundTrips() {
        let bytes = (0...255).map { UInt8($0) }
        for count in 0...bytes.count {
            let prefix = Array(bytes.prefix(count))
            #expect(Base64.decode(Base64.encode(prefix)) == prefix)
        }
    }

    /// Go skips `\r` and `\n` anywhere, even inside the padding, so a key wrapped by an editor or saved
    /// with CRLF line ends decodes.
    @Test(arguments: [
        "AAECAwQFBgcICQoLDA0ODw==\n", "AAECAwQFBgcI\r\nCQoLDA0ODw==\r\n", "\nAAEC\nAwQF\nBgcI\nCQoL\nDA0O\nDw==",
        "AAECAwQFBgcICQoLDA0ODw=\r\n=",
    ])
    func lineBreaksAreSkipped(text: String) {
        #expect(Base64.decode(text) == Array(0..<16))
    }

    @Test func onlyLineBreaksAreNoBytes() {
        #expect(Base64.decode("\r\n\n") == [])
    }

    /// `StdEncoding` is not `Strict()`: bits after the last byte need not be zero.
    @Test func nonZeroTrailingBitsAreDropped() {
        #expect(Base64.decode("Zh==") == Array("f".utf8))
        #expect(Base64.decode("Zm9=") == Array("fo".utf8))
    }

    /// What Go refuses: no padding, misplaced or excess `=`, characters outside the alphabet (URL-safe
    /// `-` and `_`, spaces, tabs), and text that is not a whole number of quanta.
    @Test(arguments: [
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "not base64!", "AAEC====", "AA=A",
        "====", "A===", "Zg=", "Zg", "Z", "Zg==Zg==", "Zm9v Yg==", "Zm9v\tYg==", "-_-_", "Zm9vYg==\u{0}",
        "Zm9vYg===", "Zm9v\u{00E9}",
    ])
    func refused(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
