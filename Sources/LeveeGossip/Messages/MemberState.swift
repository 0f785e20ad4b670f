/// A node's state as carried in push/pull (memberlist state.go `NodeStateType`).
public enum MemberState: Int, Hashable, Sendable, CaseIterable {
    case alive = 0
    case suspect = 1
    case dead = 2
    case left = 3
}
