import LeveeTestKit
import NIOCore
import Testing

extension SerfAgent {
    /// The agent's memberlist address, for sending to it through a `GossipTransport`.
    func socketAddress() throws -> SocketAddress {
        try SocketAddress(ipAddress: "127.0.0.1", port: bindPort)
    }
}

/// Runs `body` with a fresh agent and stops the agent afterwards, whatever happens; a failure
/// records the agent's log.
func withSerfAgent<Result>(
    name: String,
    encryptKey: String? = nil,
    extraArguments: [String] = [],
    _ body: (SerfAgent) async throws -> Result
) async throws -> Result {
    try await SerfAgent.with(
        name: name,
        encryptKey: encryptKey,
        extraArguments: extraArguments,
        onFailure: { Issue.record("serf agent \($0.name) log:\n\($0.log())") },
        body
    )
}
