/// The first byte of a Serf delegate message (serf messages.go `messageType`).
public enum SerfMessageType: UInt8, Hashable, Sendable, CaseIterable {
    case leave = 0
    case join = 1
    case pushPull = 2
    case userEvent = 3
    case query = 4
    case queryResponse = 5
    /// Only as a query-response payload (`_serf_conflict`).
    case conflictResponse = 6
    /// Only as a query payload (`_serf_install-key` and friends).
    case keyRequest = 7
    /// Only as a query-response payload.
    case keyResponse = 8
    case relay = 9
}
