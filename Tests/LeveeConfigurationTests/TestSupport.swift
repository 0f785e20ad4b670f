import Glibc
import LeveeConfiguration

/// Parses `yaml` as the file `levee.yaml`, for user 1000, with no environment.
func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigurationFileError) -> AgentConfiguration {
    try AgentConfiguration.parse(yaml: yaml, file: "levee.yaml", environment: environment, uid: 1000)
}

/// The error `yaml` is rejected with, or nil when it parses.
func parseError(_ yaml: String) -> ConfigurationFileError? {
    do {
        _ = try parse(yaml)
        return nil
    } catch {
        return error
    }
}

/// Loads `yaml` the way the agent does: written to a fresh temporary `levee.yaml` and read back by
/// `AgentConfiguration.load(contentsOf:environment:uid:)`, for user 1000, with no environment. Errors
/// name that file; compare their key path, line and expectation rather than the file.
func load(_ yaml: String) throws(ConfigurationFileError) -> AgentConfiguration {
    var template = Array("/tmp/levee-config-test-XXXXXX".utf8CString)
    let created = template.withUnsafeMutableBufferPointer { buffer in
        mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
    }
    guard let directory = created else { fatalError("mkdtemp failed: errno \(errno)") }
    let path = directory + "/levee.yaml"
    defer {
        unlink(path)
        rmdir(directory)
    }
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(descriptor >= 0, "cannot create \(path): errno \(errno)")
    let bytes = Array(yaml.utf8)
    let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
    precondition(written == bytes.count, "short write to \(path)")
    return try AgentConfiguration.load(contentsOf: path, environment: [:], uid: 1000)
}

/// The error `yaml` is refused with by `load(_:)`, or nil when it loads.
func loadError(_ yaml: String) -> ConfigurationFileError? {
    do {
        _ = try load(yaml)
        return nil
    } catch {
        return error
    }
}

/// A minimal valid upstream section body, for documents that test something else.
let minimalUpstream = """
    upstreams:
      payments:
        endpoints: ["127.0.0.1:8081"]
    """
