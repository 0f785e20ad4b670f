import LeveeGossip
import Testing

struct SerfMessageTests {
    static let deploy = UserEvent(
        lTime: LamportTime(1),
        name: "deploy",
        payload: Array("v1.2.3".utf8),
        canCoalesce: true
    )

    @Test("G4: the CRC'd user event decodes to a Serf user event and encodes back byte for byte")
    func goldenUserEvent() throws {
        let messages = try PacketCodec().decodePacket(Golden.g4UserEventWithCRC)
        guard case .user(let payload) = messages.first, messages.count == 1 else {
            Issue.record("expected one user message, got \(messages)")
            return
        }
        #expect(try SerfMessage(payload) == .userEvent(Self.deploy))
        let bytes = try PacketCodec().encodePacket(
            [.user(SerfMessage.userEvent(Self.deploy).encoded())],
            options: PacketEncodeOptions(checksum: true),
            nonce: []
        )
        #expect(bytes.hexString == Golden.g4UserEventWithCRC.hexString)
    }

    static let messages: [SerfMessage] = [
        .leave(LeaveIntent(lTime: LamportTime(5), node: "beta", prune: true)),
        .join(JoinIntent(lTime: LamportTime(1), node: "levee-1")),
        .userEvent(UserEvent(lTime: LamportTime(300), name: "levee-health", payload: nil)),
        .query(
            Query(
                lTime: LamportTime(2),
                id: 0xdead_beef,
                addr: Golden.localhost,
                port: 7946,
                sourceNode: "alpha",
                filters: [[0, 0x91, 0xa4] + Array("beta".utf8)],
                flags: Query.ackFlag,
                relayFactor: 1,
                timeout: .seconds(2),
                name: "whoami",
                payload: Array("hi".utf8)
            )
        ),
        .queryResponse(QueryResponse(lTime: LamportTime(2), id: 9, from: "beta", flags: 1, payload: nil)),
        .conflictResponse(
            ConflictMember(
                name: "x",
                addr: Golden.localhost,
                port: 1,
                tags: ["role": "web"],
                status: 1,
                versions: .serfAgent
            )
        ),
        .keyRequest(KeyRequest(key: Golden.g7Key)),
        .keyResponse(KeyResponse(result: true, message: "", keys: ["AAEC"], primaryKey: "AAEC")),
        .relay(
            RelayHeader(destIP: Golden.localhost, destPort: 7946, destName: "alpha"),
            inner: SerfMessage.queryResponse(
                QueryResponse(lTime: LamportTime(2), id: 9, from: "b", flags: 0, payload: [1])
            )
            .encoded()
        ),
        .pushPull(
            SerfPushPull(
                lTime: LamportTime(1),
                statusLTimes: ["beta": LamportTime(0), "alpha": LamportTime(3)],
                leftMembers: [],
                eventLTime: LamportTime(1),
                events: [UserEventCollection(lTime: LamportTime(1), events: [.init(name: "a", payload: nil)]), nil],
                queryLTime: LamportTime(1)
            )
        ),
    ]

    @Test("round trip", arguments: messages)
    func roundTrip(_ message: SerfMessage) throws {
        #expect(try SerfMessage(message.encoded()) == message)
    }

    @Test("a query's 2 s timeout is int64 nanoseconds, ce 77 35 94 00")
    func queryTimeout() {
        guard case .query(let query) = Self.messages[3] else { return }
        let bytes = query.msgpackEncoded()
        #expect(bytes.hexString.hasSuffix("a754696d656f7574ce77359400"))
    }

    @Test("G8 shape: a join push/pull state carries Go's 512 nil event slots as dc 02 00 + c0×512")
    func eventRing() throws {
        let state = SerfPushPull(
            lTime: LamportTime(1),
            statusLTimes: ["beta": LamportTime(0)],
            leftMembers: [],
            eventLTime: LamportTime(1),
            events: Array(repeating: nil, count: 512),
            queryLTime: LamportTime(1)
        )
        let bytes = SerfMessage.pushPull(state).encoded()
        #expect(bytes.hexString.contains("a64576656e7473dc0200" + String(repeating: "c0", count: 512)))
        #expect(try SerfMessage(bytes) == .pushPull(state))
    }

    @Test("tags in node meta", arguments: [([String: String](), "ff80"), (["role": "web"], "ff81a4726f6c65a3776562")])
    func tags(tags: [String: String], meta: String) throws {
        #expect(try Tags.encode(tags).hexString == meta)
        #expect(try Tags.decode(hex(meta)) == tags)
    }

    @Test("an old node's meta is its role; oversized tags are refused")
    func legacyAndOversizedTags() throws {
        #expect(try Tags.decode(Array("web".utf8)) == ["role": "web"])
        #expect(throws: WireError.self) { try Tags.encode(["big": String(repeating: "x", count: 600)]) }
    }

    @Test("hostile serf bodies", arguments: ["", "0a80", "03", "04dfffffffff", "09"])
    func hostile(hexBytes: String) {
        #expect(throws: WireError.self) { try SerfMessage(hex(hexBytes)) }
    }
}

struct LamportClockTests {
    @Test("starts at 1, increments, witnesses only later times")
    func clock() {
        var clock = LamportClock()
        #expect(clock.time == LamportTime(1))
        #expect(clock.increment() == LamportTime(2))
        clock.witness(LamportTime(1))
        #expect(clock.time == LamportTime(2))
        clock.witness(LamportTime(2))
        #expect(clock.time == LamportTime(3))
        clock.witness(LamportTime(10))
        #expect(clock.time == LamportTime(11))
        clock.witness(LamportTime(.max))
        #expect(clock.time == LamportTime(11))
    }
}
