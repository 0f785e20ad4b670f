/// An ack or a response to a query this node sent (serf query.go `QueryResponse.sendAck`,
/// `sendResponse`); each node acks at most once and responds at most once.
public struct SerfQueryAnswer: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case ack
        case response([UInt8]?)
    }

    public var query: SerfQueryTicket
    public var from: String
    public var kind: Kind

    public init(query: SerfQueryTicket, from: String, kind: Kind) {
        self.query = query
        self.from = from
        self.kind = kind
    }
}
