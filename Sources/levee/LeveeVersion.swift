/// The version this binary reports (`levee version`, the gossip `levee` tag).
enum LeveeVersion {
    static let current = "0.1.0-dev"
}
