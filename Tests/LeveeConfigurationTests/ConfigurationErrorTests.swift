import LeveeConfiguration
import Testing

/// One bad document and the error it must give: the exact key path, the line, and words of the
/// expectation.
struct BadDocument: CustomTestStringConvertible, Sendable {
    var name: String
    var yaml: String
    var keyPath: String
    var line: Int?
    var expected: String
    var value: String? = nil

    var testDescription: String { name }
}

@Suite("configuration errors")
struct ConfigurationErrorTests {
    static let documents: [BadDocument] = [
        BadDocument(
            name: "unknown top-level key, with a suggestion",
            yaml: "service: orders\nservce: x\n",
            keyPath: "servce",
            line: 2,
            expected:
                "one of the keys service, listen, defaults, dynamic_upstreams, upstreams, gossip, degradation, chaos",
            value: "unknown key servce (did you mean service?)"
        ),
        BadDocument(
            name: "unknown policy key",
            yaml: minimalUpstream + "\n    breaker:\n      min_call: 5\n",
            keyPath: "upstreams.payments.breaker.min_call",
            line: 5,
            expected:
                "one of the keys window, min_calls, failure_rate, slow_call, open_for, open_for_max, half_open_calls",
            value: "unknown key min_call (did you mean min_calls?)"
        ),
        BadDocument(
            name: "unknown upstream key",
            yaml: minimalUpstream + "\n    health_probe: {}\n",
            keyPath: "upstreams.payments.health_probe",
            line: 4,
            expected: "one of the keys protocol, tls, tls_ca_file, endpoints, discover, timeouts",
            value: "unknown key health_probe"
        ),
        BadDocument(
            name: "health check timeout not shorter than its interval",
            yaml: minimalUpstream + "\n    health_check:\n      interval: 5s\n      timeout: 6s\n",
            keyPath: "upstreams.payments.health_check.timeout",
            line: 6,
            expected: "a duration shorter than interval (5s)",
            value: "6s"
        ),
        BadDocument(
            name: "health check threshold of zero",
            yaml: minimalUpstream + "\n    health_check:\n      unhealthy_threshold: 0\n",
            keyPath: "upstreams.payments.health_check.unhealthy_threshold",
            line: 5,
            expected: "an integer ≥ 1",
            value: "0"
        ),
        BadDocument(
            name: "health check path not absolute",
            yaml: minimalUpstream + "\n    health_check: { path: healthz }\n",
            keyPath: "upstreams.payments.health_check.path",
            line: 4,
            expected: "an absolute path without whitespace, such as /healthz",
            value: "healthz"
        ),
        BadDocument(
            name: "unknown health check key, with a suggestion",
            yaml: minimalUpstream + "\n    health_check:\n      intervall: 1s\n",
            keyPath: "upstreams.payments.health_check.intervall",
            line: 5,
            expected: "one of the keys path, service, interval, timeout, healthy_threshold, unhealthy_threshold",
            value: "unknown key intervall (did you mean interval?)"
        ),
        BadDocument(
            name: "health check interval not a duration",
            yaml: minimalUpstream + "\n    health_check: { interval: often }\n",
            keyPath: "upstreams.payments.health_check.interval",
            line: 4,
            expected: "a duration",
            value: "often"
        ),
        BadDocument(
            name: "relative tls_ca_file",
            yaml: minimalUpstream + "\n    tls_ca_file: certs/ca.pem\n",
            keyPath: "upstreams.payments.tls_ca_file",
            line: 4,
            expected: "an absolute path of a PEM file of certificate authorities",
            value: "certs/ca.pem"
        ),
        BadDocument(
            name: "integer expected",
            yaml: minimalUpstream + "\n    breaker: { min_calls: many }\n",
            keyPath: "upstreams.payments.breaker.min_calls",
            line: 4,
            expected: "an integer",
            value: "many"
        ),
        BadDocument(
            name: "integer expected, got a fraction",
            yaml: minimalUpstream + "\n    bulkhead: { max_concurrent: 2.5 }\n",
            keyPath: "upstreams.payments.bulkhead.max_concurrent",
            line: 4,
            expected: "an integer",
            value: "2.5"
        ),
        BadDocument(
            name: "mapping expected, got a list",
            yaml: minimalUpstream + "\n    retry: [1, 2]\n",
            keyPath: "upstreams.payments.retry",
            line: 4,
            expected: "a mapping with keys max_attempts, backoff, on, budget, idempotent_methods, min_attempt_time",
            value: "a list"
        ),
        BadDocument(
            name: "list expected, got a scalar",
            yaml: "upstreams:\n  payments:\n    endpoints: 127.0.0.1:8081\n",
            keyPath: "upstreams.payments.endpoints",
            line: 3,
            expected: "a list of host:port",
            value: "127.0.0.1:8081"
        ),
        BadDocument(
            name: "policy range, from validate()",
            yaml: minimalUpstream + "\n    breaker:\n      window: { kind: count, size: 100 }\n      min_calls: 0\n",
            keyPath: "upstreams.payments.breaker.min_calls",
            line: 6,
            expected: "an integer ≥ 1",
            value: "0"
        ),
        BadDocument(
            name: "rule across sections, from validate()",
            yaml: minimalUpstream + "\n    timeouts: { total: 5s }\n    bulkhead: { queue_timeout: 10s }\n",
            keyPath: "upstreams.payments.bulkhead.queue_timeout",
            line: 5,
            expected: "at most timeouts.total (5s)",
            value: "10s"
        ),
        BadDocument(
            name: "a default that breaks an upstream points at the default's line",
            yaml: """
                defaults:
                  timeouts:
                    attempt: 1s
                upstreams:
                  payments:
                    endpoints: ["127.0.0.1:8081"]
                    timeouts: { total: 500ms }
                """,
            keyPath: "upstreams.payments.timeouts.attempt",
            line: 3,
            expected: "at most timeouts.total (500ms)",
            value: "1s"
        ),
        BadDocument(
            name: "defaults are validated as defaults",
            yaml: "defaults:\n  breaker:\n    failure_rate: 150\n",
            keyPath: "defaults.breaker.failure_rate",
            line: 3,
            expected: "a percentage greater than 0 and at most 100",
            value: "150.0"
        ),
        BadDocument(
            name: "a rule between two keys of defaults",
            yaml: "defaults:\n  timeouts: { attempt: 2s, total: 1s }\n",
            keyPath: "defaults.timeouts.attempt",
            line: 2,
            expected: "at most timeouts.total (1s)",
            value: "2s"
        ),
        BadDocument(
            name: "bare number as a duration",
            yaml: minimalUpstream + "\n    breaker: { open_for: 30 }\n",
            keyPath: "upstreams.payments.breaker.open_for",
            line: 4,
            expected: "a duration such as 250ms or 2s",
            value: "30"
        ),
        BadDocument(
            name: "endpoint without a port",
            yaml: "upstreams:\n  payments:\n    endpoints:\n      - 127.0.0.1:8081\n      - localhost\n",
            keyPath: "upstreams.payments.endpoints[1]",
            line: 5,
            expected: "host:port with a port from 1 to 65535",
            value: "localhost"
        ),
        BadDocument(
            name: "endpoint port 0",
            yaml: "upstreams:\n  payments:\n    endpoints: [\"127.0.0.1:0\"]\n",
            keyPath: "upstreams.payments.endpoints[0]",
            line: 3,
            expected: "host:port with a port from 1 to 65535",
            value: "127.0.0.1:0"
        ),
        BadDocument(
            name: "endpoint port too large",
            yaml: "upstreams:\n  payments:\n    endpoints: [\"127.0.0.1:65536\"]\n",
            keyPath: "upstreams.payments.endpoints[0]",
            line: 3,
            expected: "host:port with a port from 1 to 65535",
            value: "127.0.0.1:65536"
        ),
        BadDocument(
            name: "IPv6 endpoint without brackets",
            yaml: "upstreams:\n  payments:\n    endpoints: [\"::1:80\"]\n",
            keyPath: "upstreams.payments.endpoints[0]",
            line: 3,
            expected: "an IPv6 address in brackets",
            value: "::1:80"
        ),
        BadDocument(
            name: "endpoint listed twice",
            yaml: "upstreams:\n  payments:\n    endpoints: [\"a:1\", \"a:1\"]\n",
            keyPath: "upstreams.payments.endpoints[1]",
            line: 3,
            expected: "each endpoint once",
            value: "a:1 again"
        ),
        BadDocument(
            name: "no endpoints and no discover",
            yaml: "upstreams:\n  payments:\n    tls: true\n",
            keyPath: "upstreams.payments.endpoints",
            line: 2,
            expected: "at least one endpoint (host:port), or discover",
            value: "no endpoints"
        ),
        BadDocument(
            name: "empty endpoint list",
            yaml: "upstreams:\n  payments:\n    endpoints: []\n",
            keyPath: "upstreams.payments.endpoints",
            line: 3,
            expected: "at least one endpoint",
            value: "no endpoints"
        ),
        BadDocument(
            name: "upstream name with a space",
            yaml: "upstreams:\n  my payments:\n    endpoints: [\"a:1\"]\n",
            keyPath: "upstreams.my payments",
            line: 2,
            expected: "an upstream name that is not empty and has no whitespace",
            value: "my payments"
        ),
        BadDocument(
            name: "empty upstream name",
            yaml: "upstreams:\n  \"\":\n    endpoints: [\"a:1\"]\n",
            keyPath: "upstreams",
            line: 2,
            expected: "an upstream name that is not empty",
            value: "\"\""
        ),
        BadDocument(
            name: "unknown protocol",
            yaml: minimalUpstream + "\n    protocol: http2\n",
            keyPath: "upstreams.payments.protocol",
            line: 4,
            expected: "one of http, grpc",
            value: "http2"
        ),
        BadDocument(
            name: "YAML 1.1 boolean",
            yaml: minimalUpstream + "\n    tls: yes\n",
            keyPath: "upstreams.payments.tls",
            line: 4,
            expected: "true or false",
            value: "yes"
        ),
        BadDocument(
            name: "null scalar",
            yaml: minimalUpstream + "\n    tls:\n",
            keyPath: "upstreams.payments.tls",
            line: 4,
            expected: "true or false",
            value: "null"
        ),
        BadDocument(
            name: "bad retry pattern",
            yaml: minimalUpstream + "\n    retry: { on: [timeout, 6xx] }\n",
            keyPath: "upstreams.payments.retry.on[1]",
            line: 4,
            expected: "connect-failure, reset, timeout",
            value: "6xx"
        ),
        BadDocument(
            name: "transport failure in classify, from validate()",
            yaml: minimalUpstream + "\n    classify:\n      failure:\n        - 5xx\n        - timeout\n",
            keyPath: "upstreams.payments.classify.failure[1]",
            line: 7,
            expected: "an HTTP status (503)",
            value: "timeout"
        ),
        BadDocument(
            name: "bucket on a count window",
            yaml: minimalUpstream + "\n    breaker: { window: { kind: count, size: 10, bucket: 1s } }\n",
            keyPath: "upstreams.payments.breaker.window.bucket",
            line: 4,
            expected: "no bucket for a count window",
            value: "1s"
        ),
        BadDocument(
            name: "count size on a time window",
            yaml: minimalUpstream + "\n    breaker: { window: { kind: time, size: 100 } }\n",
            keyPath: "upstreams.payments.breaker.window.size",
            line: 4,
            expected: "a duration such as 250ms or 2s",
            value: "100"
        ),
        BadDocument(
            name: "fallback status out of range",
            yaml: minimalUpstream + "\n    fallback: { static: { status: 99 } }\n",
            keyPath: "upstreams.payments.fallback.static.status",
            line: 4,
            expected: "an HTTP status from 200 to 599",
            value: "99"
        ),
        BadDocument(
            name: "fallback header name",
            yaml: minimalUpstream + "\n    fallback: { static: { headers: { \"bad name\": x } } }\n",
            keyPath: "upstreams.payments.fallback.static.headers.bad name",
            line: 4,
            expected: "a header name",
            value: "bad name"
        ),
        BadDocument(
            name: "fallback trigger",
            yaml: minimalUpstream + "\n    fallback: { on: [ok] }\n",
            keyPath: "upstreams.payments.fallback.on[0]",
            line: 4,
            expected: "one of upstream_failure, timeout, connect_failure",
            value: "ok"
        ),
        BadDocument(
            name: "relative socket path",
            yaml: "listen:\n  socket: run/levee.sock\n",
            keyPath: "listen.socket",
            line: 2,
            expected: "an absolute path of at most 107 bytes (the sun_path limit)",
            value: "run/levee.sock"
        ),
        BadDocument(
            name: "socket path longer than sun_path",
            yaml: "listen:\n  admin_socket: /\(String(repeating: "a", count: 107))\n",
            keyPath: "listen.admin_socket",
            line: 2,
            expected: "an absolute path of at most 107 bytes"
        ),
        BadDocument(
            name: "both sockets on one path",
            yaml: "listen:\n  socket: /run/l.sock\n  admin_socket: /run/l.sock\n",
            keyPath: "listen.admin_socket",
            line: 3,
            expected: "a path other than listen.socket's"
        ),
        BadDocument(
            name: "http listener address",
            yaml: "listen:\n  http: 9901\n",
            keyPath: "listen.http",
            line: 2,
            expected: "host:port such as 127.0.0.1:9901, or off",
            value: "9901"
        ),
        BadDocument(
            name: "service name",
            yaml: "service: \"two words\"\n",
            keyPath: "service",
            line: 1,
            expected: "a service name without whitespace",
            value: "two words"
        ),
        BadDocument(
            name: "dynamic_upstreams type",
            yaml: "dynamic_upstreams: maybe\n",
            keyPath: "dynamic_upstreams",
            line: 1,
            expected: "true or false",
            value: "maybe"
        ),
        BadDocument(
            name: "encrypt key of the wrong size, not echoed",
            yaml: "gossip:\n  encrypt_key: AAECAwQFBgcICQoLDA0ODxA=\n",
            keyPath: "gossip.encrypt_key",
            line: 2,
            expected: "base64 of 16, 24 or 32 bytes",
            value: "a key of 17 bytes"
        ),
        BadDocument(
            name: "gossip share mode",
            yaml: "gossip:\n  share: always\n",
            keyPath: "gossip.share",
            line: 2,
            expected: "one of off, advisory, follow",
            value: "always"
        ),
        BadDocument(
            name: "gossip quorum",
            yaml: "gossip:\n  quorum: 0\n",
            keyPath: "gossip.quorum",
            line: 2,
            expected: "an integer from 1 to 1000",
            value: "0"
        ),
        BadDocument(
            name: "gossip suspect_after",
            yaml: "gossip:\n  suspect_after: -1\n",
            keyPath: "gossip.suspect_after",
            line: 2,
            expected: "an integer from 0 (never) to 1000",
            value: "-1"
        ),
        BadDocument(
            name: "gossip join entry",
            yaml: "gossip:\n  join: [\"10.0.0.2:7946\", \"not an address\"]\n",
            keyPath: "gossip.join[1]",
            line: 2,
            expected: "host:port of a member",
            value: "not an address"
        ),
        BadDocument(
            name: "degradation rule naming an upstream that is not configured",
            yaml: minimalUpstream + "\ndegradation:\n  minimal:\n    - open: [payments, paymnets]\n",
            keyPath: "degradation.minimal[0].open[1]",
            line: 6,
            expected: "a configured upstream (one of payments)",
            value: "paymnets"
        ),
        BadDocument(
            name: "degradation rule with an unknown key",
            yaml: minimalUpstream + "\ndegradation:\n  degraded:\n    - closed: [payments]\n",
            keyPath: "degradation.degraded[0].closed",
            line: 6,
            expected: "one of the keys open",
            value: "unknown key closed"
        ),
        BadDocument(
            name: "degradation rule with no upstreams",
            yaml: minimalUpstream + "\ndegradation:\n  degraded:\n    - open: []\n",
            keyPath: "degradation.degraded[0].open",
            line: 6,
            expected: "at least one upstream name",
            value: "an empty list"
        ),
        BadDocument(
            name: "degradation level that does not exist",
            yaml: minimalUpstream + "\ndegradation:\n  critical: []\n",
            keyPath: "degradation.critical",
            line: 5,
            expected: "one of the keys degraded, minimal",
            value: "unknown key critical"
        ),
        BadDocument(
            name: "the document is not a mapping",
            yaml: "- a\n- b\n",
            keyPath: "",
            line: 1,
            expected: "a mapping with keys service, listen",
            value: "a list"
        ),
        BadDocument(
            name: "YAML syntax error",
            yaml: "service: orders\nlisten:\n  socket: [unclosed\n",
            keyPath: "",
            line: 4,
            expected: "valid YAML"
        ),
        BadDocument(
            name: "duplicate key",
            yaml: "service: a\nservice: b\n",
            keyPath: "",
            line: 1,
            expected: "each key once in a mapping",
            value: "service more than once"
        ),
        BadDocument(
            name: "two documents",
            yaml: "service: a\n---\nservice: b\n",
            keyPath: "",
            line: 2,
            expected: "valid YAML"
        ),
        BadDocument(
            name: "mapping key that is a list",
            yaml: "upstreams:\n  ? [a, b]\n  : { endpoints: [\"a:1\"] }\n",
            keyPath: "upstreams",
            line: 2,
            expected: "a key name (a string)",
            value: "a list"
        ),
    ]

    @Test(arguments: documents)
    func badDocument(_ document: BadDocument) throws {
        let error = try #require(parseError(document.yaml))
        #expect(error.file == "levee.yaml")
        #expect(error.keyPath == document.keyPath)
        #expect(error.line == document.line)
        #expect(error.expected.contains(document.expected), "\(error)")
        if let value = document.value {
            #expect(error.value == value, "\(error)")
        }
    }

    @Test func descriptionNamesFileLineKeyPathExpectationAndValue() {
        let error = ConfigurationFileError(
            file: "levee.yaml",
            keyPath: "upstreams.payments.breaker.min_calls",
            value: "0",
            expected: "an integer ≥ 1",
            line: 14
        )
        #expect(
            error.description == "levee.yaml:14: upstreams.payments.breaker.min_calls: expected an integer ≥ 1, got 0"
        )
        var withoutLine = error
        withoutLine.line = nil
        #expect(
            withoutLine.description
                == "levee.yaml: upstreams.payments.breaker.min_calls: expected an integer ≥ 1, got 0"
        )
        let whole = ConfigurationFileError(
            file: "/etc/levee.yaml",
            keyPath: "",
            value: "x",
            expected: "valid YAML",
            line: 3
        )
        #expect(whole.description == "/etc/levee.yaml:3: expected valid YAML, got x")
    }

    @Test func descriptionOfAParsedError() throws {
        let error = try #require(parseError(minimalUpstream + "\n    breaker: { min_calls: 0 }\n"))
        #expect(
            error.description == "levee.yaml:4: upstreams.payments.breaker.min_calls: expected an integer ≥ 1, got 0"
        )
    }

    @Test func syntaxErrorSaysWhatIsWrong() throws {
        let error = try #require(parseError("service: orders\n  bad: indent\n"))
        #expect(error.keyPath == "")
        #expect(error.line == 2)
        #expect(error.description.hasPrefix("levee.yaml:2: expected valid YAML, got mapping values are not allowed"))
    }

    @Test func longAndControlValuesAreShownSafely() throws {
        let long = String(repeating: "x", count: 500)
        let error = try #require(parseError("service: \"a\\tb\(long)\"\n"))
        #expect(error.value.hasPrefix("a\\tbxxx"))
        #expect(error.value.hasSuffix("…"))
        #expect(error.value.count < 100)
    }
}
