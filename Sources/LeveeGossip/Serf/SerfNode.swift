/// A node as memberlist's `EventDelegate` reports it (memberlist `Node`): what the Serf layer receives
/// on `NotifyJoin`, `NotifyUpdate` and `NotifyLeave`.
public struct SerfNode: Hashable, Sendable {
    public var name: String
    public var address: SerfMemberAddress
    /// memberlist `Meta`: Serf tags, `0xFF ‖ msgpack(map)` (see `Tags`).
    public var meta: [UInt8]
    public var versions: ProtocolVersions

    public init(name: String, address: SerfMemberAddress, meta: [UInt8], versions: ProtocolVersions = .serfAgent) {
        self.name = name
        self.address = address
        self.meta = meta
        self.versions = versions
    }
}
