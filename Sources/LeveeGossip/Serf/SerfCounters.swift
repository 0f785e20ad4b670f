/// What the Serf layer dropped, and why: input from the network is never trusted, and never traps.
public struct SerfCounters: Hashable, Sendable {
    /// User messages or push/pull states that did not decode (truncated, wrong types, bad prefix).
    public var malformedMessages = 0
    /// Decodable messages of a type that is not valid as a user message (push/pull, key payloads, …);
    /// serf delegate.go `NotifyMsg` logs "unknown type" for these.
    public var unexpectedMessages = 0
    /// Member `Meta` that did not decode as tags; the member is kept with no tags.
    public var malformedMeta = 0
    /// User events before `eventMinTime` or outside the event window.
    public var staleEvents = 0
    /// User events already seen (same LTime, name and payload).
    public var duplicateEvents = 0
    /// Queries before `queryMinTime` or outside the query window.
    public var staleQueries = 0
    /// Queries already seen (same LTime and ID).
    public var duplicateQueries = 0
    /// Queries that a filter excluded, or whose filter could not be decoded or understood.
    public var filteredQueries = 0
    /// Query responses for no running query, with a mismatched ID, late, or duplicated.
    public var unmatchedResponses = 0

    public init() {}
}
