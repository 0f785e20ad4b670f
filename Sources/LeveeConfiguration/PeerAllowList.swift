/// Who may use one of the agent's Unix sockets beyond what the socket file's mode says
/// (`listen.allow`, `listen.admin_allow`): the caller's uid, or one of its groups, must be listed.
/// The agent reads the caller's credentials (`SO_PEERCRED`, `SO_PEERGROUPS`) on each accepted
/// connection and closes a refused one before it reads anything from it.
public struct PeerAllowList: Sendable, Hashable {
    /// Callers with one of these uids are let in.
    public var uids: Set<UInt32>
    /// Callers whose primary group, or one of whose supplementary groups, is one of these are let in.
    public var gids: Set<UInt32>

    public init(uids: Set<UInt32> = [], gids: Set<UInt32> = []) {
        self.uids = uids
        self.gids = gids
    }

    /// Whether a caller with `uid`, primary group `gid` and supplementary `groups` is let in.
    public func admits(uid: UInt32, gid: UInt32, groups: [UInt32] = []) -> Bool {
        uids.contains(uid) || gids.contains(gid) || groups.contains(where: gids.contains)
    }

    /// The admin socket's list when the file gives none: the agent's own user and root.
    public static func agentUserAndRoot(uid: UInt32) -> PeerAllowList {
        PeerAllowList(uids: [uid, 0])
    }
}
