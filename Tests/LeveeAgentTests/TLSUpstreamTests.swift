import Foundation
import LeveeAPI
import LeveeConfiguration
import LeveeTestKit
import Testing

/// `tls: true` upstreams: verified TLS, and HTTP/2 when ALPN agrees.
@Suite(.timeLimit(.minutes(2)))
struct TLSUpstreamTests {
    /// A self-signed certificate for 127.0.0.1, made by openssl for this test.
    static func makeCertificate(in directory: String) async throws -> (certificate: String, key: String) {
        let certificate = "\(directory)/cert.pem"
        let key = "\(directory)/key.pem"
        let result = try await ChildProcess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
            ]
        )
        try #require(result.status == 0, "openssl failed: \(result.output)")
        return (certificate, key)
    }

    @Test(
        "A tls: true upstream is called over HTTP/2 (ALPN), trusting tls_ca_file; an untrusted one is a connect failure"
    )
    func http2OverTLS() async throws {
        let directory = try AgentHarness.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = try await Self.makeCertificate(in: directory)
        let server = try await TestTLSServer.start(certificatePath: certificate, keyPath: key)
        try await AgentHarness.withAgent(
            yaml: """
                upstreams:
                  secure:
                    tls: true
                    tls_ca_file: \(certificate)
                    endpoints: ["\(server.address)"]
                  untrusted:
                    tls: true
                    endpoints: ["\(server.address)"]
                    retry: { max_attempts: 1 }
                """
        ) { agent in
            for _ in 0..<3 {
                let response = try await agent.call("secure", "GET", "/")
                #expect(response.outcome == .ok, "\(response.detail)")
                #expect(String(decoding: response.http.body, as: UTF8.self) == "tls-ok")
            }
            #expect(server.requestVersions == ["2", "2", "2"])

            let refused = try await agent.call("untrusted", "GET", "/")
            #expect(refused.outcome == .connectFailure, "\(refused.detail)")
            #expect(server.requestVersions.count == 3)
        }
        try await server.stop()
    }
}
