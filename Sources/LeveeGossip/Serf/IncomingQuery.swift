public import LeveePolicy

/// A query delivered to the application (serf event.go `Query`); answer it with
/// `SerfInstance.respond(to:payload:now:)` before `deadline`.
public struct IncomingQuery: Hashable, Sendable {
    public var name: String
    public var payload: [UInt8]?
    public var lTime: LamportTime
    public var id: UInt32
    public var sourceNode: String
    /// Where responses go: the query's `Addr:Port`, not the packet's source (serf event.go
    /// `respondWithMessageAndResponse`).
    public var replyAddress: SerfMemberAddress
    /// Receipt time plus the query's timeout (serf serf.go `handleQuery`).
    public var deadline: Instant

    public init(
        name: String,
        payload: [UInt8]?,
        lTime: LamportTime,
        id: UInt32,
        sourceNode: String,
        replyAddress: SerfMemberAddress,
        deadline: Instant
    ) {
        self.name = name
        self.payload = payload
        self.lTime = lTime
        self.id = id
        self.sourceNode = sourceNode
        self.replyAddress = replyAddress
        self.deadline = deadline
    }
}
