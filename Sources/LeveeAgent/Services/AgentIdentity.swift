/// Who this agent is, for `levee status`.
public struct AgentIdentity: Sendable {
    public var version: String
    public var startedAt: ContinuousClock.Instant

    public init(version: String, startedAt: ContinuousClock.Instant = .now) {
        self.version = version
        self.startedAt = startedAt
    }
}
