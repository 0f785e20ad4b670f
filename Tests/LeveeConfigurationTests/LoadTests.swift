import Glibc
import LeveeConfiguration
import Testing

@Suite("loading a file")
struct LoadTests {
    /// A fresh temporary directory, removed by the caller.
    private func temporaryDirectory() throws -> String {
        var template = Array("/tmp/levee-config-test-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: try #require(path))
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        try #require(written == bytes.count)
    }

    @Test func readsAndNamesTheFile() throws {
        let directory = try temporaryDirectory()
        defer { rmdir(directory) }
        let path = "\(directory)/levee.yaml"
        defer { unlink(path) }
        try write(Array((minimalUpstream + "\nservice: orders\n").utf8), to: path)
        let configuration = try AgentConfiguration.load(contentsOf: path, environment: [:], uid: 1)
        #expect(configuration.service == "orders")
        #expect(configuration.sourcePath == path)

        try write(Array("service: [\n".utf8), to: path)
        let error = #expect(throws: ConfigurationFileError.self) {
            try AgentConfiguration.load(contentsOf: path, environment: [:], uid: 1)
        }
        #expect(error?.file == path)
        #expect(error?.line == 2)  // libyaml reports an unclosed list at the end of the input
    }

    @Test func missingFile() throws {
        do {
            _ = try AgentConfiguration.load(contentsOf: "/nonexistent/levee.yaml", environment: [:], uid: 1)
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.file == "/nonexistent/levee.yaml")
            #expect(error.keyPath == "")
            #expect(error.line == nil)
            #expect(
                error.description
                    == "/nonexistent/levee.yaml: expected a readable file, got No such file or directory (errno 2)"
            )
        }
    }

    @Test func directoryIsNotAFile() throws {
        do {
            _ = try AgentConfiguration.load(contentsOf: "/tmp", environment: [:], uid: 1)
            Issue.record("a directory loaded")
        } catch {
            #expect(error.expected == "a readable file")
            #expect(error.value.contains("Is a directory"))
        }
    }

    @Test func notUTF8() throws {
        let directory = try temporaryDirectory()
        defer { rmdir(directory) }
        let path = "\(directory)/levee.yaml"
        defer { unlink(path) }
        try write([0x73, 0x3A, 0x20, 0xFF, 0xFE, 0x0A], to: path)
        do {
            _ = try AgentConfiguration.load(contentsOf: path, environment: [:], uid: 1)
            Issue.record("bytes that are not UTF-8 loaded")
        } catch {
            #expect(error.expected == "a YAML file in UTF-8")
        }
    }

    @Test func tooLarge() throws {
        let directory = try temporaryDirectory()
        defer { rmdir(directory) }
        let path = "\(directory)/levee.yaml"
        defer { unlink(path) }
        try write(Array(repeating: UInt8(ascii: "#"), count: AgentConfiguration.maximumFileSize + 1), to: path)
        do {
            _ = try AgentConfiguration.load(contentsOf: path, environment: [:], uid: 1)
            Issue.record("a file over the limit loaded")
        } catch {
            #expect(error.expected == "a file of at most 1048576 bytes")
        }
    }
}
