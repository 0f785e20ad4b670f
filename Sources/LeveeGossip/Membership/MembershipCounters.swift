/// What the instance has done and what it refused, for metrics and tests. Bad input never traps: it
/// is dropped and counted here.
public struct MembershipCounters: Hashable, Sendable {
    /// Probes started.
    public var probes = 0
    /// Probes that ended without any ack (the target was then suspected).
    public var failedProbes = 0
    /// Indirect ping requests sent.
    public var indirectPings = 0
    /// Probes saved by the TCP fallback alone.
    public var tcpFallbackSuccesses = 0
    /// Nodes this member began to suspect.
    public var suspicions = 0
    /// New independent confirmations of a running suspicion.
    public var confirmations = 0
    /// Nodes this member marked Dead or Left.
    public var deaths = 0
    /// Accusations about ourselves that we refuted.
    public var refutations = 0
    /// Acks and nacks whose sequence number matches nothing outstanding (late, or forged).
    public var staleAcks = 0
    /// Pings addressed to another node name.
    public var misdirectedPings = 0
    /// Gossip about nodes we do not know, or older than what we know.
    public var staleGossip = 0
    /// Messages carrying an impossible address or version range.
    public var invalidMessages = 0
    /// `alive` messages claiming a live member's name from another address.
    public var nameConflicts = 0
    /// Push/pulls whose versions `verifyProtocol` rejected.
    public var rejectedPushPulls = 0
    /// Message types memberlist does not handle on packets.
    public var unsupportedMessages = 0
    /// Input that arrived after we had left.
    public var ignoredAfterLeave = 0

    public init() {}
}
