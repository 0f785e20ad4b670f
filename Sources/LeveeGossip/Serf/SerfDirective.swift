/// What the shell must do after the Serf layer handled an input: the Serf side of memberlist's
/// `Delegate` and `EventDelegate`, inverted into values.
public enum SerfDirective: Hashable, Sendable {
    /// Queue this serf message (`[serf type][msgpack]`) as a memberlist user broadcast on `queue`.
    /// Serf broadcasts never replace one another.
    case broadcast([UInt8], queue: SerfBroadcastQueue)
    /// Send this serf message as a memberlist user message by UDP to `address` (memberlist
    /// `SendToAddress`): query acks and responses, relayed messages.
    case sendUserMessage([UInt8], to: SerfMemberAddress)
    /// Hand a user event to the application (serf `EventCh <- UserEvent`).
    case deliverEvent(UserEvent)
    /// Hand a query to the application, which may answer with `SerfInstance.respond`.
    case deliverQuery(IncomingQuery)
    /// An ack or response arrived for a query this node sent.
    case queryAnswered(SerfQueryAnswer)
    /// A query this node sent reached its deadline; no more answers will be reported.
    case queryFinished(SerfQueryTicket)
    /// A member's status changed (serf `EventMemberJoin`, `Leave`, `Failed`; `alive → leaving` too,
    /// which serf does not report).
    case memberStatusChanged(SerfMember, from: SerfMemberStatus, to: SerfMemberStatus)
    /// A member's address, tags or versions changed (serf `EventMemberUpdate`), or an alive member
    /// joined again.
    case memberUpdated(SerfMember)
    /// A failed or left member was forgotten (serf `EventMemberReap`).
    case memberReaped(SerfMember)
    /// Try to join this failed member at the memberlist level (serf serf.go `reconnect`):
    /// `name/ip:port`.
    case joinMember(name: String, address: SerfMemberAddress)
}
