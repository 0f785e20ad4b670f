import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `levee`: the fault-tolerance sidecar and its operator commands, in one binary.
@main
struct Levee: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "levee",
        abstract: "Levee, a fault-tolerance sidecar: guarded outbound calls and a gossip pool of agents.",
        version: LeveeVersion.current,
        subcommands: [
            AgentCommand.self, Status.self, Upstreams.self, Breaker.self, CallCommand.self, Validate.self,
            Reload.self, Members.self, Top.self, Version.self, Keygen.self, GossipMemberCommand.self,
        ]
    )

    /// `LEVEE_NIO_EXECUTOR=1` runs Swift concurrency on NIO's event loops (executor takeover), which
    /// saves a thread hop per I/O event; it must be installed before any task runs.
    static func main() async {
        if ProcessInfo.processInfo.environment["LEVEE_NIO_EXECUTOR"] == "1" {
            _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        await main(nil)
    }
}
