import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

struct SerfInstanceQueryTests {
    static let reply = SerfMemberAddress(ip: [127, 0, 0, 9], port: 8000)

    @Test("a query with Flags & 1 is acked by UDP to Addr:Port, delivered and rebroadcast")
    func ackToAddrPort() throws {
        var serf = try SerfFixture.instance()
        let raw = SerfMessage.query(SerfFixture.query()).encoded()
        let directives = serf.onUserMessage(raw, now: SerfFixture.start)
        let ack = SerfMessage.queryResponse(
            QueryResponse(lTime: LamportTime(5), id: 77, from: "levee-1", flags: 1, payload: nil)
        ).encoded()
        #expect(SerfFixture.sent(directives).map(\.bytes) == [ack])
        #expect(SerfFixture.sent(directives).map(\.to) == [Self.reply])
        #expect(SerfFixture.queries(directives).map(\.name) == ["whoami"])
        #expect(SerfFixture.broadcasts(directives) == [raw])
        #expect(serf.onUserMessage(raw, now: SerfFixture.start).isEmpty)
        #expect(serf.counters.duplicateQueries == 1)
    }

    @Test("a query with Flags & 2 is processed but not rebroadcast")
    func noBroadcast() throws {
        var serf = try SerfFixture.instance()
        let query = SerfFixture.query(flags: Query.ackFlag | Query.noBroadcastFlag)
        let directives = serf.onUserMessage(SerfMessage.query(query).encoded(), now: SerfFixture.start)
        #expect(SerfFixture.broadcasts(directives).isEmpty)
        #expect(SerfFixture.sent(directives).count == 1)
    }

    static let filterCases: [(label: String, filters: [[UInt8]], processed: Bool)] = [
        ("node list naming us", [QueryFilter.nodes(["a", "levee-1"]).encoded()], true),
        ("node list without us", [QueryFilter.nodes(["a"]).encoded()], false),
        ("tag regex matching", [QueryFilter.tag("role", expression: "^we").encoded()], true),
        ("tag regex unanchored", [QueryFilter.tag("role", expression: "eb").encoded()], true),
        ("tag regex not matching", [QueryFilter.tag("role", expression: "^db$").encoded()], false),
        ("missing tag matches empty", [QueryFilter.tag("dc", expression: "^$").encoded()], true),
        ("invalid regex", [QueryFilter.tag("role", expression: "(").encoded()], false),
        ("all must pass", [QueryFilter.nodes(["levee-1"]).encoded(), QueryFilter.nodes(["b"]).encoded()], false),
        ("unknown filter type", [[7, 0x90]], false),
        ("truncated filter", [[0, 0x92, 0xa1]], false),
        ("empty filter", [[]], false),
    ]

    @Test("filters decide processing; a filtered query is still rebroadcast", arguments: filterCases)
    func filters(label: String, filters: [[UInt8]], processed: Bool) throws {
        var serf = try SerfFixture.instance(tags: ["role": "web"])
        let raw = SerfMessage.query(SerfFixture.query(filters: filters)).encoded()
        let directives = serf.onUserMessage(raw, now: SerfFixture.start)
        #expect(SerfFixture.queries(directives).isEmpty != processed, "\(label)")
        #expect(SerfFixture.sent(directives).isEmpty != processed, "\(label)")
        #expect(SerfFixture.broadcasts(directives) == [raw], "\(label)")
    }

    @Test("_serf_ping is acked and not shown to the application")
    func ping() throws {
        var serf = try SerfFixture.instance()
        let raw = SerfMessage.query(SerfFixture.query(name: "_serf_ping")).encoded()
        let directives = serf.onUserMessage(raw, now: SerfFixture.start)
        #expect(SerfFixture.queries(directives).isEmpty)
        let sent = SerfFixture.sent(directives)
        #expect(sent.count == 1 && sent.first?.to == Self.reply)
        guard case .queryResponse(let ack) = try SerfMessage(try #require(sent.first).bytes) else {
            Issue.record("expected an ack")
            return
        }
        #expect(ack.isAck && ack.from == "levee-1")
    }

    @Test("_serf_conflict is answered with our view of the member, nil when unknown")
    func conflict() throws {
        var serf = try SerfFixture.instance()
        _ = serf.onMemberJoined(try SerfFixture.node("peer", last: 2, tags: ["a": "b"]), now: SerfFixture.start)
        var query = SerfFixture.query(flags: 0, name: "_serf_conflict")
        query.payload = Array("peer".utf8)
        let directives = serf.onUserMessage(SerfMessage.query(query).encoded(), now: SerfFixture.start)
        let sent = try #require(SerfFixture.sent(directives).first)
        guard case .queryResponse(let response) = try SerfMessage(sent.bytes) else {
            Issue.record("expected a response")
            return
        }
        #expect(sent.to == Self.reply)
        let member = try #require(serf.member(named: "peer"))
        #expect(try SerfMessage(try #require(response.payload)) == .conflictResponse(member.conflictMember))

        var unknown = SerfFixture.query(id: 78, flags: 0, name: "_serf_conflict")
        unknown.payload = Array("ghost".utf8)
        let other = serf.onUserMessage(SerfMessage.query(unknown).encoded(), now: SerfFixture.start)
        guard case .queryResponse(let nilResponse) = try SerfMessage(try #require(SerfFixture.sent(other).first).bytes)
        else {
            Issue.record("expected a response")
            return
        }
        #expect(nilResponse.payload == [6, 0xc0])
    }

    @Test("the application answers once, before the deadline, within the size limit")
    func respond() throws {
        var serf = try SerfFixture.instance()
        var clock = ManualClock()
        let directives = serf.onUserMessage(SerfMessage.query(SerfFixture.query()).encoded(), now: clock.now)
        let query = try #require(SerfFixture.queries(directives).first)
        #expect(throws: SerfError.self) {
            try serf.respond(to: query, payload: [UInt8](repeating: 1, count: 1100), now: clock.now)
        }
        let answer = try serf.respond(to: query, payload: [42], now: clock.now)
        #expect(
            answer == [
                .sendUserMessage(
                    SerfMessage.queryResponse(
                        QueryResponse(lTime: LamportTime(5), id: 77, from: "levee-1", flags: 0, payload: [42])
                    ).encoded(),
                    to: Self.reply
                )
            ]
        )
        #expect(throws: SerfError.self) { try serf.respond(to: query, payload: [42], now: clock.now) }

        let late = serf.onUserMessage(SerfMessage.query(SerfFixture.query(id: 99)).encoded(), now: clock.now)
        clock.advance(by: .seconds(3))
        #expect(throws: SerfError.self) {
            try serf.respond(to: try #require(SerfFixture.queries(late).first), payload: nil, now: clock.now)
        }
    }

    @Test("our own query collects each node's first ack and response, then finishes at its deadline")
    func collectAnswers() throws {
        var serf = try SerfFixture.instance()
        var clock = ManualClock()
        var rng = SeededRandom(seed: 5)
        let (ticket, _) = try serf.query(
            name: "q",
            payload: nil,
            parameters: SerfQueryParameters(requestAck: true, timeout: .seconds(1)),
            now: clock.now,
            using: &rng
        )
        func response(_ from: String, flags: UInt32, id: UInt32? = nil) -> [UInt8] {
            SerfMessage.queryResponse(
                QueryResponse(lTime: ticket.lTime, id: id ?? ticket.id, from: from, flags: flags, payload: [1])
            ).encoded()
        }
        #expect(SerfFixture.answers(serf.onUserMessage(response("b", flags: 1), now: clock.now)).count == 1)
        #expect(SerfFixture.answers(serf.onUserMessage(response("b", flags: 1), now: clock.now)).isEmpty)
        #expect(
            SerfFixture.answers(serf.onUserMessage(response("b", flags: 0), now: clock.now)).map(\.kind) == [
                .response([1])
            ]
        )
        #expect(
            SerfFixture.answers(serf.onUserMessage(response("c", flags: 0, id: ticket.id &+ 1), now: clock.now)).isEmpty
        )
        clock.advance(by: .seconds(2))
        #expect(serf.onTick(now: clock.now, using: &rng).contains(.queryFinished(ticket)))
        #expect(SerfFixture.answers(serf.onUserMessage(response("d", flags: 0), now: clock.now)).isEmpty)
        #expect(serf.counters.unmatchedResponses == 3)
    }

    @Test("a relay message forwards its inner bytes to DestAddr")
    func relay() throws {
        var serf = try SerfFixture.instance()
        let inner = SerfMessage.queryResponse(
            QueryResponse(lTime: LamportTime(1), id: 1, from: "x", flags: 1, payload: nil)
        )
        .encoded()
        let raw = SerfMessage.relay(RelayHeader(destIP: [10, 0, 0, 1], destPort: 7946, destName: "a"), inner: inner)
            .encoded()
        #expect(
            serf.onUserMessage(raw, now: SerfFixture.start) == [
                .sendUserMessage(inner, to: SerfMemberAddress(ip: [10, 0, 0, 1], port: 7946))
            ]
        )
    }
}
