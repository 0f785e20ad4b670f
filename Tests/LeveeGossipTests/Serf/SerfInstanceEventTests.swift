import LeveeGossip
import LeveePolicy
import LeveeTestKit
import Testing

struct SerfInstanceEventTests {
    static func event(_ lTime: UInt64, _ name: String = "deploy", _ payload: [UInt8]? = [1]) -> [UInt8] {
        SerfMessage.userEvent(UserEvent(lTime: LamportTime(lTime), name: name, payload: payload)).encoded()
    }

    @Test("a new event is delivered and rebroadcast once; the same (LTime, Name, Payload) is dropped")
    func dedupe() throws {
        var serf = try SerfFixture.instance()
        let now = SerfFixture.start
        let first = serf.onUserMessage(Self.event(3), now: now)
        #expect(SerfFixture.events(first).map(\.name) == ["deploy"])
        #expect(first.contains(.broadcast(Self.event(3), queue: .events)))
        #expect(serf.onUserMessage(Self.event(3), now: now).isEmpty)
        #expect(serf.counters.duplicateEvents == 1)
        // Same LTime, another payload or name: a different event.
        #expect(SerfFixture.events(serf.onUserMessage(Self.event(3, "deploy", [2]), now: now)).count == 1)
        #expect(SerfFixture.events(serf.onUserMessage(Self.event(3, "other"), now: now)).count == 1)
    }

    @Test("events more than the ring size behind the clock are dropped as stale")
    func window() throws {
        var serf = try SerfFixture.instance()
        let now = SerfFixture.start
        _ = serf.onUserMessage(Self.event(1000), now: now)
        #expect(serf.eventClock.time == LamportTime(1001))
        #expect(serf.onUserMessage(Self.event(488), now: now).isEmpty)
        #expect(serf.counters.staleEvents == 1)
        #expect(SerfFixture.events(serf.onUserMessage(Self.event(489), now: now)).count == 1)
    }

    @Test("a newer LTime in a used ring slot starts a fresh slot")
    func slotReuse() throws {
        var serf = try SerfFixture.instance()
        let now = SerfFixture.start
        _ = serf.onUserMessage(Self.event(5), now: now)
        #expect(SerfFixture.events(serf.onUserMessage(Self.event(5 + 512), now: now)).count == 1)
        #expect(SerfFixture.events(serf.onUserMessage(Self.event(5 + 512), now: now)).isEmpty)
    }

    @Test(
        "user events beyond the size limits are refused with a clear error",
        arguments: [
            (limit: 512, payloadSize: 400, accepted: true),
            // name + payload is 513 bytes.
            (limit: 512, payloadSize: 512, accepted: false),
            // name + payload fits 512, but the encoding (struct keys included) takes 521.
            (limit: 512, payloadSize: 490, accepted: false),
            (limit: 9216, payloadSize: 1300, accepted: true),
            // Within a 9 KiB limit, but too big for a 1400-byte gossip packet.
            (limit: 9216, payloadSize: 1400, accepted: false),
        ]
    )
    func sizeLimits(limit: Int, payloadSize: Int, accepted: Bool) throws {
        var serf = try SerfFixture.instance { $0.userEventSizeLimit = limit }
        let payload = [UInt8](repeating: 0x61, count: payloadSize)
        do throws(SerfError) {
            let directives = try serf.sendUserEvent(name: "e", payload: payload, now: SerfFixture.start)
            #expect(accepted)
            #expect(SerfFixture.broadcasts(directives).count == 1)
        } catch {
            #expect(!accepted)
            #expect(error.code == .userEventTooLarge)
            #expect(serf.eventClock.time == LamportTime(1))
        }
    }

    @Test("a user-event limit beyond the 9 KiB hard cap is a configuration error")
    func hardCap() {
        #expect(throws: SerfError.self) { try SerfFixture.instance { $0.userEventSizeLimit = 9217 } }
    }

    @Test("events are sent with CC=false unless asked")
    func coalesceDefault() throws {
        var serf = try SerfFixture.instance()
        let directives = try serf.sendUserEvent(name: "levee-health", payload: [], now: SerfFixture.start)
        let bytes = try #require(SerfFixture.broadcasts(directives).first)
        guard case .userEvent(let event) = try SerfMessage(bytes) else {
            Issue.record("expected a user event")
            return
        }
        #expect(!event.canCoalesce)
    }
}
