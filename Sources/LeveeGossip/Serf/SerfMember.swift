/// A member of the Serf pool as the application sees it (serf serf.go `Member`).
public struct SerfMember: Hashable, Sendable {
    public var name: String
    public var address: SerfMemberAddress
    public var tags: [String: String]
    public var status: SerfMemberStatus
    public var versions: ProtocolVersions

    public init(
        name: String,
        address: SerfMemberAddress,
        tags: [String: String],
        status: SerfMemberStatus,
        versions: ProtocolVersions
    ) {
        self.name = name
        self.address = address
        self.tags = tags
        self.status = status
        self.versions = versions
    }

    /// The `_serf_conflict` response body for this member (serf internal_query.go `handleConflict`).
    public var conflictMember: ConflictMember {
        ConflictMember(
            name: name,
            addr: address.ip,
            port: address.port,
            tags: tags,
            status: status.rawValue,
            versions: versions
        )
    }
}
