import LeveeGossip
import LeveePolicy
import LeveeTestKit

/// A member `self` with known peers `p1…pn`, a manual clock and a seeded generator, for unit tests
/// that feed messages by hand.
struct MembershipFixture {
    var clock = ManualClock()
    var rng = SeededRandom(seed: 7)
    var instance: MembershipInstance
    var directives: [MembershipDirective] = []

    init(peers: Int, settings: MembershipSettings = .lan) throws {
        instance = try MembershipInstance(
            settings: settings,
            localName: "self",
            address: .ipv4(10, 0, 0, 1, port: 7946),
            meta: [0xff, 0x80],
            now: clock.now
        )
        directives = instance.onTick(now: clock.now, using: &rng)
        for index in 1...max(1, peers) where peers > 0 {
            receive(.alive(Self.alive("p\(index)", incarnation: 1)))
        }
    }

    static func address(of name: String) -> NodeAddress {
        let number = UInt8(String(name.dropFirst())) ?? 200
        return .ipv4(10, 0, 1, number, port: 7946)
    }

    static func alive(_ name: String, incarnation: Incarnation, meta: [UInt8] = []) -> Alive {
        let address = address(of: name)
        return Alive(incarnation: incarnation, node: name, addr: address.ip, port: address.port, meta: meta)
    }

    @discardableResult
    mutating func receive(
        _ message: Message,
        from sender: NodeAddress = .ipv4(10, 0, 1, 250, port: 7946)
    )
        -> [MembershipDirective]
    {
        directives = instance.onMessage(message, from: sender, now: clock.now, using: &rng)
        return directives
    }

    @discardableResult
    mutating func tick() -> [MembershipDirective] {
        directives = instance.onTick(now: clock.now, using: &rng)
        return directives
    }

    /// Advances to each requested tick until `instant`, collecting every directive.
    @discardableResult
    mutating func advance(to instant: Instant) -> [MembershipDirective] {
        var all: [MembershipDirective] = []
        while true {
            let next = instance.nextDeadline
            guard next <= instant else { break }
            clock.advance(to: max(clock.now, next))
            all += tick()
        }
        clock.advance(to: instant)
        all += tick()
        directives = all
        return all
    }

    @discardableResult
    mutating func advance(by duration: Duration) -> [MembershipDirective] {
        advance(to: clock.now + duration)
    }

    func state(_ name: String) -> MemberState? { instance.member(named: name)?.state }
    func incarnation(_ name: String) -> Incarnation? { instance.member(named: name)?.incarnation }

    /// The datagrams among `directives`.
    static func packets(_ directives: [MembershipDirective]) -> [OutboundPacket] {
        directives.compactMap { if case .send(let packet) = $0 { packet } else { nil } }
    }

    static func events(_ directives: [MembershipDirective]) -> [MemberEvent] {
        directives.compactMap { if case .memberEvent(let event) = $0 { event } else { nil } }
    }

    /// Every message sent, piggybacked or not.
    static func messages(_ directives: [MembershipDirective]) -> [Message] {
        packets(directives).flatMap(\.messages)
    }
}
