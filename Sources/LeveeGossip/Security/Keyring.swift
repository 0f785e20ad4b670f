import LeveePolicy

/// The AES-GCM keys of a gossip pool (memberlist keyring.go): the primary key encrypts, every key is
/// tried in order to decrypt, so keys can be rotated without a flag day.
///
/// A key is 16, 24 or 32 bytes and selects AES-128, -192 or -256 (keyring.go `ValidateKey`).
public struct Keyring: Hashable, Sendable {
    /// All installed keys; index 0 is the primary.
    public private(set) var keys: [[UInt8]]

    /// The key that encrypts.
    public var primaryKey: [UInt8] { keys[0] }

    /// A keyring whose primary key is `primary`, then `others` in order (duplicates dropped).
    public init(primary: [UInt8], others: [[UInt8]] = []) throws(WireError) {
        try Self.validate(primary)
        keys = [primary]
        for key in others {
            try addKey(key)
        }
    }

    /// The keyring of serf's `-encrypt=` flag: one key in padded standard base64.
    public init(serfEncryptKey text: String) throws(WireError) {
        try self.init(primary: try Self.decodeKey(text))
    }

    /// The keyring of serf's `-keyring-file`, given its already-parsed JSON array of base64 keys; the
    /// first is primary (serf agent.go `loadKeyringFile`).
    public init(serfKeyringKeys texts: [String]) throws(WireError) {
        guard let first = texts.first else {
            throw WireError(.invalidValue, field: "keyring", "the keyring file has no keys")
        }
        var others: [[UInt8]] = []
        for text in texts.dropFirst() {
            others.append(try Self.decodeKey(text))
        }
        try self.init(primary: try Self.decodeKey(first), others: others)
    }

    /// Installs `key` as a secondary key (keyring.go `AddKey`); a key already present is left alone.
    public mutating func addKey(_ key: [UInt8]) throws(WireError) {
        try Self.validate(key)
        if !keys.contains(key) { keys.append(key) }
    }

    /// Makes an installed key the primary (keyring.go `UseKey`).
    public mutating func useKey(_ key: [UInt8]) throws(WireError) {
        guard let index = keys.firstIndex(of: key) else {
            throw WireError(.invalidValue, field: "keyring", "the requested key is not installed")
        }
        keys.remove(at: index)
        keys.insert(key, at: 0)
    }

    /// Removes a secondary key (keyring.go `RemoveKey`); the primary key cannot be removed.
    public mutating func removeKey(_ key: [UInt8]) throws(WireError) {
        guard key != primaryKey else {
            throw WireError(.invalidValue, field: "keyring", "removing the primary key is not allowed")
        }
        keys.removeAll { $0 == key }
    }

    /// The base64 spelling of a key, as `serf keygen` prints it.
    public static func encodeKey(_ key: [UInt8]) -> String { Base64.encode(key) }

    /// Parses one base64 key and checks its size.
    public static func decodeKey(_ text: String) throws(WireError) -> [UInt8] {
        guard let key = Base64.decode(text) else {
            throw WireError(.invalidValue, field: "encrypt_key", "not padded standard base64")
        }
        try validate(key)
        return key
    }

    /// keyring.go `ValidateKey`.
    public static func validate(_ key: [UInt8]) throws(WireError) {
        guard [16, 24, 32].contains(key.count) else {
            throw WireError(
                .invalidValue,
                field: "encrypt_key",
                "key size must be 16, 24 or 32 bytes, got \(key.count)"
            )
        }
    }
}
