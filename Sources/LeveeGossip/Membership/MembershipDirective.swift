public import LeveePolicy

/// What the shell must do after an event of `MembershipInstance`, in order.
///
/// The instance does no I/O and keeps no clock: it asks for datagrams and streams, reports events
/// upward, and says when it wants `onTick` again (`scheduleTick`, always the last directive).
public enum MembershipDirective: Hashable, Sendable {
    /// Send one datagram: encode `messages` with `PacketCodec.encodePacket` (a compound when there
    /// are several), compress when `MembershipSettings.enableCompression`, with a CRC when
    /// `checksum`, encrypt when a keyring is set.
    case send(OutboundPacket)
    /// Open a TCP stream for a push/pull (join or periodic anti-entropy); answer with
    /// `onPushPullReply` or `onPushPullFailed`.
    case pushPull(PushPullRequest)
    /// Open a TCP stream for the fallback ping of a probe; answer with `onStreamPingResult`.
    case streamPing(StreamPingRequest)
    /// A `user` message arrived by UDP: hand the payload to the layer above (Serf).
    case deliverUserMessage([UInt8])
    /// A push/pull was merged: hand the remote user state to the layer above (memberlist
    /// `Delegate.MergeRemoteState`). Only sent when it is not empty.
    case mergeUserState([UInt8], join: Bool)
    /// A member joined, changed its metadata, left or failed.
    case memberEvent(MemberEvent)
    /// Another node claims the name of a live member from a different address (memberlist
    /// `ConflictDelegate`); its `alive` was dropped.
    case nameConflict(existing: Member, claimed: Alive)
    /// A probe was acknowledged; Serf takes the round-trip time and the payload for its network
    /// coordinates (memberlist `PingDelegate.NotifyPingComplete`).
    case probeAcknowledged(node: String, rtt: Duration, payload: [UInt8]?)
    /// Every seed of `join` has answered or failed.
    case joinCompleted(JoinResult)
    /// The `dead` message of `leave` has been gossiped its full number of times (`broadcastSent`),
    /// or the leave timed out or had nobody to tell (`false`). The shell may now stop.
    case leaveCompleted(broadcastSent: Bool)
    /// Call `onTick` at this instant (or earlier; an early tick is harmless).
    case scheduleTick(at: Instant)
}

/// One datagram to send.
public struct OutboundPacket: Hashable, Sendable {
    public var address: NodeAddress
    /// The first message, then any piggybacked broadcasts.
    public var messages: [Message]
    /// Prepend a CRC-32 header: memberlist does so when the destination is a known node with
    /// PMax ≥ 5 (net.go `rawSendMsgPacket`).
    public var checksum: Bool

    public init(address: NodeAddress, messages: [Message], checksum: Bool) {
        self.address = address
        self.messages = messages
        self.checksum = checksum
    }
}

/// A push/pull exchange to start over TCP (memberlist net.go `sendAndReceiveState`).
public struct PushPullRequest: Hashable, Sendable {
    /// Names the exchange in `onPushPullReply` and `onPushPullFailed`.
    public var id: UInt64
    public var address: NodeAddress
    public var join: Bool
    /// Our node states at the time of the request.
    public var nodes: [PushNodeState]
    /// Give up on the exchange at this instant (`tcpTimeout` after the request).
    public var deadline: Instant

    public init(id: UInt64, address: NodeAddress, join: Bool, nodes: [PushNodeState], deadline: Instant) {
        self.id = id
        self.address = address
        self.join = join
        self.nodes = nodes
        self.deadline = deadline
    }

    /// The stream message to send, with the layer above's state (memberlist `Delegate.LocalState`).
    public func message(userState: [UInt8]) -> PushPull {
        PushPull(join: join, nodes: nodes, userState: userState)
    }
}

/// The TCP fallback of a failing probe (memberlist state.go `probeNode`, net.go
/// `sendPingAndWaitForAck`): send `[0][ping]`, expect `[2][ack]` with the same sequence number.
public struct StreamPingRequest: Hashable, Sendable {
    public var address: NodeAddress
    public var ping: Ping
    public var deadline: Instant

    public init(address: NodeAddress, ping: Ping, deadline: Instant) {
        self.address = address
        self.ping = ping
        self.deadline = deadline
    }
}

/// How a push/pull that someone else opened went: what to answer, and whether their state merged.
public struct InboundPushPull: Hashable, Sendable {
    /// Our state, echoing their `Join` flag; the shell writes it back on the stream.
    public var reply: PushPull
    /// False when `verifyProtocol` rejected their versions; nothing was merged.
    public var merged: Bool
    public var directives: [MembershipDirective]
}

/// The outcome of `join`: memberlist `Join` succeeds when at least one seed answered.
public struct JoinResult: Hashable, Sendable {
    /// Seeds whose push/pull completed and merged.
    public var contacted: Int
    /// Seeds that failed, timed out or had incompatible versions.
    public var failed: Int

    public init(contacted: Int, failed: Int) {
        self.contacted = contacted
        self.failed = failed
    }

    public var succeeded: Bool { contacted > 0 }
}
