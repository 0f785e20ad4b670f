public import LeveePolicy

/// A query this node sent and is collecting answers for (serf query.go `QueryResponse`, without its
/// channels): answers arrive as `SerfDirective.queryAnswered`, and `queryFinished` ends it.
public struct SerfQueryTicket: Hashable, Sendable {
    public var name: String
    public var lTime: LamportTime
    public var id: UInt32
    public var deadline: Instant

    public init(name: String, lTime: LamportTime, id: UInt32, deadline: Instant) {
        self.name = name
        self.lTime = lTime
        self.id = id
        self.deadline = deadline
    }
}
