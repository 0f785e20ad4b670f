/// The `fallback.stale` section: answer a failed call with the last successful response for the same
/// cache key, if it is recent enough (DESIGN.md "Fallback"; preferred to a static answer).
public struct StaleFallbackConfiguration: Sendable, Hashable {
    /// The oldest response that may still be served (`max_age`, default 30 s). Past it, stale data is
    /// more likely to mislead than to help.
    public var maxAge: Duration
    /// How many responses the LRU keeps per upstream (`max_entries`, default 1024), so memory stays
    /// bounded whatever the spread of cache keys.
    public var maxEntries: Int

    public init(maxAge: Duration = .seconds(30), maxEntries: Int = 1024) {
        self.maxAge = maxAge
        self.maxEntries = maxEntries
    }

    /// `max_age` 30 s, `max_entries` 1024.
    public static let defaults = StaleFallbackConfiguration()

    /// The largest `max_entries` accepted.
    public static let maximumEntries = 1 << 20
}
