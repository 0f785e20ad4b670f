import LeveePolicy
import NIOCore
import NIOHTTP1
import Testing

@testable import LeveeAgent

/// How the proxy listener reads a request head: the upstream's name, the options, what is forwarded.
@Suite struct ProxyRequestTests {
    private func parse(_ uri: String = "/", _ headers: [(String, String)]) -> ProxyRequest.Parsed {
        ProxyRequest.parse(
            HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: HTTPHeaders(headers)),
            body: nil
        )
    }

    @Test("The Host names the upstream; a port gives the dynamic name; IPv6 in brackets")
    func hosts() throws {
        for (host, name, withPort) in [
            ("payments", "payments", nil), ("payments:8080", "payments", "payments:8080"),
            ("10.0.0.5:80", "10.0.0.5", "10.0.0.5:80"), ("[::1]:9000", "::1", "::1:9000"), ("[::1]", "::1", nil),
        ] as [(String, String, String?)] {
            guard case .call(let call) = parse("/", [("host", host)]) else {
                Issue.record("\(host) was refused")
                continue
            }
            #expect(call.name == name)
            #expect(call.nameWithPort == withPort)
        }
        for bad in ["", "a:b", "a:0", "a:70000", "[::1", "a b", "user@host"] {
            guard case .refused(let answer) = parse("/", [("host", bad)]) else {
                Issue.record("\(bad.debugDescription) was accepted")
                continue
            }
            #expect(answer.status == .badRequest)
        }
    }

    @Test("An absolute-form target (the agent as an HTTP proxy) names the upstream and the path")
    func absoluteForm() throws {
        guard case .call(let call) = parse("http://inventory:81/stock/42?x=1", [("host", "ignored")]) else {
            Issue.record("refused")
            return
        }
        #expect(call.name == "inventory")
        #expect(call.request.target == "/stock/42?x=1")
        guard case .call(let bare) = parse("http://inventory", []) else { return }
        #expect(bare.request.target == "/")
        guard case .refused(let answer) = parse("ftp://x/y", [("host", "x")]) else {
            Issue.record("ftp accepted")
            return
        }
        #expect(answer.status == .badRequest)
    }

    @Test("Options become the call's; they, Host, Expect and hop-by-hop headers are not forwarded; Via is added")
    func options() throws {
        guard
            case .call(let call) = parse(
                "/",
                [
                    ("host", "payments"), ("x-levee-timeout-ms", "250"), ("x-levee-priority", "Sheddable"),
                    ("x-levee-cache-key", "menu"), ("idempotency-key", "k-1"), ("expect", "100-continue"),
                    ("connection", "close, x-private"), ("x-private", "1"), ("keep-alive", "timeout=5"),
                    ("transfer-encoding", "chunked"), ("upgrade", "h2c"), ("x-app", "yes"),
                ]
            )
        else {
            Issue.record("refused")
            return
        }
        #expect(call.options.timeout == .milliseconds(250))
        #expect(call.options.priority == .sheddable)
        #expect(call.options.cacheKey == "menu")
        #expect(call.options.idempotencyKey == "k-1")
        let forwarded = call.request.headers.map { $0.name.lowercased() }.sorted()
        #expect(forwarded == ["idempotency-key", "via", "x-app"])
        #expect(call.request.headers.first(name: "via") == "1.1 levee")
    }
}
