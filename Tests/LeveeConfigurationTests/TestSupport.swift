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

/// A minimal valid upstream section body, for documents that test something else.
let minimalUpstream = """
    upstreams:
      payments:
        endpoints: ["127.0.0.1:8081"]
    """
