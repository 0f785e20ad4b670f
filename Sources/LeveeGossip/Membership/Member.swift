public import LeveePolicy

/// A member's incarnation number: it only grows, and only the member itself raises it, to refute a
/// suspicion or to announce new metadata (SWIM §4.2; memberlist state.go `refute`).
public typealias Incarnation = UInt32

/// What this member knows about one node of the pool, itself included (memberlist state.go
/// `nodeState`).
public struct Member: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var address: NodeAddress
    /// Opaque metadata, at most 512 bytes; Serf keeps its tags here (see `Tags`).
    public var meta: [UInt8]
    public var incarnation: Incarnation
    public var state: MemberState
    /// The node's protocol and delegate version ranges (its `Vsn`).
    public var versions: ProtocolVersions
    /// When `state` last changed; the suspicion timer and the reaping of dead nodes run from here.
    public var stateChange: Instant

    public init(
        name: String,
        address: NodeAddress,
        meta: [UInt8],
        incarnation: Incarnation,
        state: MemberState,
        versions: ProtocolVersions,
        stateChange: Instant
    ) {
        self.name = name
        self.address = address
        self.meta = meta
        self.incarnation = incarnation
        self.state = state
        self.versions = versions
        self.stateChange = stateChange
    }

    /// Dead or Left: not probed, and reaped after `gossipToTheDeadTime` (memberlist `DeadOrLeft`).
    public var isDeadOrLeft: Bool { state == .dead || state == .left }

    public var description: String {
        "\(name)@\(address) \(state) inc=\(incarnation)"
    }

    /// The node as a push/pull entry.
    var pushNodeState: PushNodeState {
        PushNodeState(
            name: name,
            addr: address.ip,
            port: address.port,
            meta: meta,
            incarnation: incarnation,
            state: state,
            versions: versions
        )
    }

    /// The node as an `alive` message.
    var alive: Alive {
        Alive(
            incarnation: incarnation,
            node: name,
            addr: address.ip,
            port: address.port,
            meta: meta,
            versions: versions
        )
    }
}
