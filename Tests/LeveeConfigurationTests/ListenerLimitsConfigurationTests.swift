import LeveeConfiguration
import Testing

struct ListenerLimitsConfigurationTests {
    @Test("Every limit has a safe default")
    func defaults() throws {
        let limits = try parse("service: orders\n").listen.limits
        #expect(limits == ListenerLimits())
        #expect(limits.maxMessageSize == 16 << 20)
        #expect(limits.maxStreamsPerConnection == 256)
        #expect(limits.maxConnections == 1024)
        #expect(limits.maxHeaderSize == 32 << 10)
        #expect(limits.maxRequestBody == 1 << 20)
        #expect(limits.idleTimeout == .seconds(300))
        #expect(limits.readTimeout == .seconds(10))
    }

    @Test("Each key sets its limit")
    func values() throws {
        let limits = try parse(
            """
            listen:
              max_message_size: 64KiB
              max_streams_per_connection: 8
              max_connections: 100
              max_header_size: 8KiB
              max_request_body: 2MiB
              idle_timeout: 1m
              read_timeout: 2500ms
            """
        ).listen.limits
        #expect(limits.maxMessageSize == 64 << 10)
        #expect(limits.maxStreamsPerConnection == 8)
        #expect(limits.maxConnections == 100)
        #expect(limits.maxHeaderSize == 8 << 10)
        #expect(limits.maxRequestBody == 2 << 20)
        #expect(limits.idleTimeout == .seconds(60))
        #expect(limits.readTimeout == .milliseconds(2500))
    }

    @Test(
        "A bad value is an error naming the key and what it expects",
        arguments: [
            ("max_message_size: 0", "listen.max_message_size", "a size in bytes"),
            ("max_message_size: 2GiB", "listen.max_message_size", "a size in bytes"),
            ("max_streams_per_connection: 0", "listen.max_streams_per_connection", "a whole number from 1 to 65536"),
            ("max_streams_per_connection: many", "listen.max_streams_per_connection", "a whole number"),
            ("max_connections: -1", "listen.max_connections", "a whole number from 1 to 1000000"),
            ("max_header_size: 100KiB", "listen.max_header_size", "a size from 1KiB to 80KiB"),
            ("max_header_size: 100", "listen.max_header_size", "a size from 1KiB to 80KiB"),
            ("idle_timeout: 30", "listen.idle_timeout", "a duration"),
            ("idle_timeout: 2d", "listen.idle_timeout", "a duration"),
            ("read_timeout: 0s", "listen.read_timeout", "a duration from 1ms to 24h"),
            ("read_timeout: 25h", "listen.read_timeout", "a duration from 1ms to 24h"),
        ]
    )
    func badValue(line: String, keyPath: String, expected: String) throws {
        let error = try #require(parseError("listen:\n  \(line)\n"), "\(line) was accepted")
        #expect(error.keyPath == keyPath)
        #expect("\(error)".contains(expected), "\(error)")
        #expect("\(error)".contains("levee.yaml"))
    }

    @Test("Limits are part of the listeners: a reload that changes them waits for a restart")
    func limitsNeedARestart() throws {
        let before = try parse("service: orders\n").listen
        var after = before
        after.limits.readTimeout = .seconds(1)
        #expect(!before.sameListeners(as: after))
    }
}
