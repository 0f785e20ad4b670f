/// A change in the membership for the layer above (memberlist `EventDelegate`: `NotifyJoin`,
/// `NotifyUpdate`, `NotifyLeave`). Serf turns these into member-join/update/leave/failed events.
public enum MemberEvent: Hashable, Sendable {
    /// A node appeared, or came back after being Dead or Left.
    case joined(Member)
    /// A known live node announced new metadata (for Serf: new tags).
    case updated(Member)
    /// A node announced its own departure (`dead` with `From == Node`).
    case left(Member)
    /// A node was declared dead by the failure detector.
    case failed(Member)

    /// The member the event is about.
    public var member: Member {
        switch self {
        case .joined(let member), .updated(let member), .left(let member), .failed(let member): member
        }
    }
}
