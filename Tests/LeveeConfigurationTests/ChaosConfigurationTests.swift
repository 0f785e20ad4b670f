import LeveeConfiguration
import Testing

/// The `chaos` section: off by default, its bounds, and errors that name the key.
@Suite struct ChaosConfigurationTests {
    static func parse(_ yaml: String) throws(ConfigurationFileError) -> AgentConfiguration {
        try AgentConfiguration.parse(yaml: yaml, file: "levee.yaml", environment: [:], uid: 1000)
    }

    @Test("Off by default, with 10m and 8 as its bounds, in a file and without one")
    func defaults() throws {
        let configuration = try Self.parse("service: orders\n")
        #expect(configuration.chaos == ChaosConfiguration(enabled: false, maxDuration: .seconds(600), maxActive: 8))
        #expect(AgentConfiguration.builtIn(environment: [:], uid: 1000).chaos.enabled == false)
    }

    @Test("chaos: { enabled: true, max_duration: 2m, max_active: 3 }")
    func enabled() throws {
        let configuration = try Self.parse("chaos: { enabled: true, max_duration: 2m, max_active: 3 }\n")
        #expect(configuration.chaos == ChaosConfiguration(enabled: true, maxDuration: .seconds(120), maxActive: 3))
    }

    @Test(
        "A bad value names its key",
        arguments: [
            ("chaos: { enabled: maybe }\n", "chaos.enabled"),
            ("chaos: { max_duration: 10 }\n", "chaos.max_duration"),
            ("chaos: { max_duration: 0s }\n", "chaos.max_duration"),
            ("chaos: { max_active: 0 }\n", "chaos.max_active"),
            ("chaos: { enable: true }\n", "chaos.enable"),
        ]
    )
    func errors(yaml: String, keyPath: String) {
        #expect {
            _ = try Self.parse(yaml)
        } throws: { error in
            (error as? ConfigurationFileError)?.keyPath == keyPath
        }
    }
}
