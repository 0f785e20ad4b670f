/// Which of Serf's three broadcast queues a message belongs on (serf delegate.go `GetBroadcasts`).
///
/// Serf fills the space memberlist leaves in a gossip packet from `intents` first, then `queries`, then
/// `events`. Serf broadcasts are never replaced by newer ones (serf broadcast.go `Invalidates` is false).
public enum SerfBroadcastQueue: Hashable, Sendable, CaseIterable {
    /// Join and leave intents (serf `broadcasts`).
    case intents
    /// Queries (serf `queryBroadcasts`).
    case queries
    /// User events (serf `eventBroadcasts`).
    case events
}
