import LeveePolicy

/// The probe in flight (memberlist state.go `probeNode`): one target, one sequence number shared by
/// the direct ping, the indirect pings and the TCP fallback.
struct Probe: Hashable, Sendable {
    var target: String
    var address: NodeAddress
    var sequenceNumber: UInt32
    var start: Instant
    /// When the direct ping is given up and indirect probes start (`ProbeTimeout`, not scaled).
    var ackTimeout: Instant
    /// When the probe fails: `start + probeInterval × (healthScore + 1)`.
    var deadline: Instant
    var indirectSent = false
    /// Nack-capable relays asked (PMax ≥ 4), and the nacks they sent.
    var expectedNacks = 0
    var nacks = 0
    var tcpFallbackSucceeded = false
}

/// A ping we send for someone else's probe (memberlist net.go `handleIndirectPing`).
struct IndirectRelay: Hashable, Sendable {
    var originalSequenceNumber: UInt32
    var requester: NodeAddress
    var wantsNack: Bool
    /// `ProbeTimeout` after the relayed ping: then a nack, if asked for, and the relay is forgotten.
    var deadline: Instant
}
