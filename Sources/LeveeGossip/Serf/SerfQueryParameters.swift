/// How to send a query (serf query.go `QueryParam`).
public struct SerfQueryParameters: Hashable, Sendable {
    /// Only these nodes process the query (filter type 0); empty means all.
    public var filterNodes: [String]
    /// Only nodes whose tag matches the regular expression process the query (filter type 1).
    public var filterTags: [String: String]
    /// Ask every processing node for an ack (`Flags & 1`).
    public var requestAck: Bool
    /// Ask receivers not to rebroadcast (`Flags & 2`); serf sets it only for internal relays.
    public var noBroadcast: Bool
    /// How long to collect answers; `nil` means serf's default, `GossipInterval × QueryTimeoutMult ×
    /// ceil(log10(n+1))` (serf query.go `DefaultQueryTimeout`).
    public var timeout: Duration?

    public init(
        filterNodes: [String] = [],
        filterTags: [String: String] = [:],
        requestAck: Bool = false,
        noBroadcast: Bool = false,
        timeout: Duration? = nil
    ) {
        self.filterNodes = filterNodes
        self.filterTags = filterTags
        self.requestAck = requestAck
        self.noBroadcast = noBroadcast
        self.timeout = timeout
    }

    /// The filters on the wire: the node list first, then one tag filter per tag in name order
    /// (serf query.go `encodeFilters`; Go's map order is random).
    var encodedFilters: [[UInt8]] {
        var filters: [[UInt8]] = []
        if !filterNodes.isEmpty { filters.append(QueryFilter.nodes(filterNodes).encoded()) }
        for (tag, expression) in filterTags.sorted(by: { $0.key < $1.key }) {
            filters.append(QueryFilter.tag(tag, expression: expression).encoded())
        }
        return filters
    }
}
