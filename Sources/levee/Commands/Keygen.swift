import ArgumentParser
import LeveeGossip

/// `levee keygen`: a new gossip encryption key, in the format of serf's `-encrypt` flag and `serf keygen`
/// (padded standard base64 of the raw AES key), so the same key works for Levee agents and serf agents.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a gossip encryption key (base64, accepted by `serf agent -encrypt`).",
        discussion: "Put the key in the config file as gossip.encrypt_key on every agent of the pool."
    )

    @Option(help: "Key size in bytes: 16, 24 or 32 (AES-128, AES-192, AES-256).")
    var bytes: Int = 32

    func validate() throws {
        guard [16, 24, 32].contains(bytes) else {
            throw ValidationError("--bytes must be 16, 24 or 32, not \(bytes)")
        }
    }

    func run() throws {
        // The system generator reads the kernel's CSPRNG (getrandom(2) on Linux): fit for key material.
        var generator = SystemRandomNumberGenerator()
        let key = (0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        try Keyring.validate(key)
        print(Keyring.encodeKey(key))
    }
}
