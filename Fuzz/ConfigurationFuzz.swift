// The `config` fuzz target: bytes → UTF-8 text (checked as `AgentConfiguration.load` checks it) →
// YAML → a validated configuration, or the error a user would read. Compiled by scripts/fuzz-all into
// the LeveeConfiguration module (instrumented, with Yams from the debug build); FuzzTarget.swift calls
// it by its C name.

/// Parses one input as a configuration file; `ConfigurationFileError` is expected, a trap, a sanitizer
/// report or a hang is a bug. The error's `description` is rendered too: it formats the key path,
/// the line and the value found.
@_cdecl("levee_fuzz_config")
public func configurationFuzz(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let yaml = String(validating: bytes, as: UTF8.self) else { return 0 }
    do {
        _ = try AgentConfiguration.parse(
            yaml: yaml,
            file: "levee.yaml",
            environment: ["XDG_RUNTIME_DIR": "/run/user/1000"],
            uid: 1000
        )
    } catch {
        _ = error.description
    }
    return 0
}
