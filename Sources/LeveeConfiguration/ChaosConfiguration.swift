/// Whether the agent may inject chaos faults, and within what bounds (`chaos`). Off by default: an
/// agent that was not configured for chaos refuses every fault command, naming `chaos.enabled`.
public struct ChaosConfiguration: Sendable, Hashable {
    /// Whether faults may be added (`enabled`, default false).
    public var enabled: Bool
    /// The longest a fault may stay (`max_duration`, default 10m): a longer `--for` is cut to it.
    public var maxDuration: Duration
    /// The most faults active at once (`max_active`, default 8).
    public var maxActive: Int

    /// The YAML keys of the section.
    static let keys = ["enabled", "max_duration", "max_active"]
    /// The bounds of `max_active`.
    public static let maxActiveRange = 1...1_000

    public init(enabled: Bool = false, maxDuration: Duration = .seconds(600), maxActive: Int = 8) {
        self.enabled = enabled
        self.maxDuration = maxDuration
        self.maxActive = maxActive
    }

    /// Off, 10 minutes, 8 faults.
    public static let defaults = ChaosConfiguration()
}

extension ChaosConfiguration {
    init(decoding section: ConfigurationSection) throws(ConfigurationFileError) {
        self.init()
        try section.read("enabled", into: &enabled)
        try section.read("max_duration", into: &maxDuration)
        if let node = section["max_duration"], maxDuration <= .zero {
            throw node.error(expected: "a positive duration such as 10m")
        }
        let expected = "an integer from \(Self.maxActiveRange.lowerBound) to \(Self.maxActiveRange.upperBound)"
        try section.read("max_active", into: &maxActive, expected: expected)
        if let node = section["max_active"], !Self.maxActiveRange.contains(maxActive) {
            throw node.error(expected: expected)
        }
    }
}
