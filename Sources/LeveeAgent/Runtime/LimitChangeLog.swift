import LeveePolicy

/// Rate-limits the log lines of an adaptive limit's changes: the first change logs at once, later
/// ones at most once per `interval`, each line saying how many changes went unlogged since the last.
/// Pure: time is a parameter.
struct LimitChangeLog: Sendable {
    var interval: Duration = .seconds(1)
    private var lastLogged: Instant?
    private var unlogged = 0

    /// Whether a change at `now` gets a line: the number of changes left unlogged before it, or nil
    /// when this one is not logged either.
    mutating func shouldLog(now: Instant) -> Int? {
        if let lastLogged, now - lastLogged < interval {
            unlogged += 1
            return nil
        }
        lastLogged = now
        defer { unlogged = 0 }
        return unlogged
    }
}
