import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

/// Two instances wired back to back: each one's broadcasts and UDP messages are fed to the other.
struct SerfInstancePairTests {
    struct Pair {
        var nodes: [SerfInstance]
        var deliveredEvents: [[UserEvent]] = [[], []]
        var deliveredQueries: [[IncomingQuery]] = [[], []]
        var answers: [[SerfQueryAnswer]] = [[], []]

        /// Routes `directives` produced by node `from` until nothing is left in flight.
        mutating func run(_ directives: [SerfDirective], from: Int, now: Instant) {
            var inFlight: [(to: Int, bytes: [UInt8])] = []
            func collect(_ directives: [SerfDirective], from: Int) {
                for directive in directives {
                    switch directive {
                    case .broadcast(let bytes, _):
                        inFlight.append((1 - from, bytes))
                    case .sendUserMessage(let bytes, let address):
                        inFlight.append((address == SerfFixture.address(1) ? 0 : 1, bytes))
                    case .deliverEvent(let event): deliveredEvents[from].append(event)
                    case .deliverQuery(let query): deliveredQueries[from].append(query)
                    case .queryAnswered(let answer): answers[from].append(answer)
                    default: break
                    }
                }
            }
            collect(directives, from: from)
            while !inFlight.isEmpty {
                let (to, bytes) = inFlight.removeFirst()
                collect(nodes[to].onUserMessage(bytes, now: now), from: to)
            }
        }
    }

    static func pair() throws -> Pair {
        var a = try SerfFixture.instance("a", last: 1)
        var b = try SerfFixture.instance("b", last: 2, tags: ["role": "web"])
        let now = SerfFixture.start
        _ = a.onMemberJoined(SerfNode(name: "b", address: SerfFixture.address(2), meta: b.nodeMeta), now: now)
        _ = b.onMemberJoined(SerfNode(name: "a", address: SerfFixture.address(1), meta: a.nodeMeta), now: now)
        return Pair(nodes: [a, b])
    }

    @Test("an event sent by one is delivered once to each, and the echo stops at the sender")
    func event() throws {
        var pair = try Self.pair()
        let now = SerfFixture.start
        let directives = try pair.nodes[0].sendUserEvent(name: "levee-health", payload: [1], now: now)
        pair.run(directives, from: 0, now: now)
        #expect(pair.deliveredEvents[1].map(\.name) == ["levee-health"])
        #expect(pair.deliveredEvents[0].map(\.name) == ["levee-health"])
        #expect(pair.nodes[1].eventClock.time == LamportTime(2))
    }

    @Test("a query with a tag filter reaches the matching node, which acks and responds")
    func queryAndResponse() throws {
        var pair = try Self.pair()
        var clock = ManualClock()
        var rng = SeededRandom(seed: 42)
        let (ticket, directives) = try pair.nodes[0].query(
            name: "whoami",
            payload: [1],
            parameters: SerfQueryParameters(filterTags: ["role": "^web$"], requestAck: true),
            now: clock.now,
            using: &rng
        )
        pair.run(directives, from: 0, now: clock.now)
        // a does not match its own filter; b does.
        #expect(pair.deliveredQueries[0].isEmpty)
        let incoming = try #require(pair.deliveredQueries[1].first)
        #expect(incoming.replyAddress == SerfFixture.address(1))
        clock.advance(by: .milliseconds(100))
        let response = try pair.nodes[1].respond(to: incoming, payload: Array("b here".utf8), now: clock.now)
        pair.run(response, from: 1, now: clock.now)
        #expect(
            pair.answers[0] == [
                SerfQueryAnswer(query: ticket, from: "b", kind: .ack),
                SerfQueryAnswer(query: ticket, from: "b", kind: .response(Array("b here".utf8))),
            ]
        )
    }

    @Test("a leave reaches the peer as a leave intent; memberlist's leave then makes it left")
    func leave() throws {
        var pair = try Self.pair()
        let now = SerfFixture.start
        pair.run(pair.nodes[0].leave(now: now), from: 0, now: now)
        #expect(pair.nodes[1].member(named: "a")?.status == .leaving)
        _ = pair.nodes[1].onMemberLeft(SerfNode(name: "a", address: SerfFixture.address(1), meta: []), now: now)
        #expect(pair.nodes[1].member(named: "a")?.status == .left)
    }
}

struct SerfInstanceMalformedTests {
    static let cases: [(label: String, bytes: [UInt8])] = [
        ("empty", []),
        ("type only", [3]),
        ("unknown type", [42, 0x80]),
        ("truncated map", [1, 0x82, 0xa5]),
        (
            "LTime is a string",
            [1, 0x82, 0xa5] + Array("LTime".utf8) + [0xa1, 0x41, 0xa4] + Array("Node".utf8) + [0xa1, 0x78]
        ),
        ("Node is an integer", [1, 0x82, 0xa5] + Array("LTime".utf8) + [0x01, 0xa4] + Array("Node".utf8) + [0x07]),
        ("event body is an array", [3, 0x91, 0x01]),
        ("query Port out of range", SerfMessage.query(SerfFixture.query()).encoded().replacingPort()),
        (
            "relay with no inner message",
            Array(
                SerfMessage.relay(RelayHeader(destIP: [1], destPort: 1, destName: ""), inner: [1]).encoded().dropLast()
            )
        ),
        ("invalid msgpack byte", [5, 0xc1]),
    ]

    @Test("malformed user messages are dropped and counted, never a crash", arguments: cases)
    func malformed(label: String, bytes: [UInt8]) throws {
        var serf = try SerfFixture.instance()
        #expect(serf.onUserMessage(bytes, now: SerfFixture.start).isEmpty, "\(label)")
        #expect(serf.counters.malformedMessages == 1, "\(label)")
    }

    @Test(
        "malformed push/pull states are dropped and counted",
        arguments: [[], [3, 0x80], [2], [2, 0x81, 0xa5] + Array("LTime".utf8) + [0xa1, 0x41]] as [[UInt8]]
    )
    func malformedState(bytes: [UInt8]) throws {
        var serf = try SerfFixture.instance()
        #expect(serf.mergeRemoteState(bytes, isJoin: false, now: SerfFixture.start).isEmpty)
        #expect(serf.counters.malformedMessages == 1)
    }

    @Test("valid messages that are not user messages are counted apart")
    func unexpected() throws {
        var serf = try SerfFixture.instance()
        _ = serf.onUserMessage(SerfMessage.keyRequest(KeyRequest(key: [1])).encoded(), now: SerfFixture.start)
        #expect(serf.counters.unexpectedMessages == 1)
    }
}

extension Array where Element == UInt8 {
    /// The query with its `Port` (a u16) rewritten as 70000, which cannot fit.
    fileprivate func replacingPort() -> [UInt8] {
        let key: [UInt8] = [0xa4] + Array("Port".utf8)
        guard let start = (0...(count - key.count)).first(where: { Array(self[$0..<($0 + key.count)]) == key }) else {
            return self
        }
        let valueStart = start + key.count
        // 8000 is written as cd 1f 40.
        return Array(self[..<valueStart]) + [0xce, 0x00, 0x01, 0x11, 0x70] + Array(self[(valueStart + 3)...])
    }
}
