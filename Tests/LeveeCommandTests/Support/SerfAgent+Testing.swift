import LeveeTestKit
import Testing

/// Runs `body` with a fresh `serf agent` and stops the agent afterwards, whatever happens; a failure
/// records the agent's log.
func withSerfAgent<Result>(
    name: String,
    encryptKey: String? = nil,
    _ body: (SerfAgent) async throws -> Result
) async throws -> Result {
    try await SerfAgent.with(
        name: name,
        encryptKey: encryptKey,
        onFailure: { Issue.record("serf agent \($0.name) log:\n\($0.log())") },
        body
    )
}
