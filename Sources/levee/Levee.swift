import ArgumentParser

/// `levee`: the fault-tolerance sidecar and its operator commands, in one binary.
@main
struct Levee: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "levee",
        abstract: "Levee, a fault-tolerance sidecar: guarded outbound calls and a gossip pool of agents.",
        version: LeveeVersion.current,
        subcommands: [GossipMemberCommand.self, Keygen.self, Version.self]
    )
}
