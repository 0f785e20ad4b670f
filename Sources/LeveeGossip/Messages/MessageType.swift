/// The first byte of every memberlist message (memberlist net.go `messageType` constants).
public enum MessageType: UInt8, Hashable, Sendable, CaseIterable {
    case ping = 0
    case indirectPing = 1
    case ack = 2
    case suspect = 3
    case alive = 4
    case dead = 5
    case pushPull = 6
    case compound = 7
    /// A delegate (Serf) payload.
    case user = 8
    case compress = 9
    /// The header of an encrypted stream; UDP encryption has no type byte.
    case encrypt = 10
    case nack = 11
    case hasCrc = 12
    /// The reply to a stream that could not be read.
    case err = 13
}
