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
            FaultCommand.self, ChaosCommand.self, DemoCommand.self,
        ]
    )

    /// `LEVEE_NIO_EXECUTOR=1` runs Swift concurrency on NIO's event loops (executor takeover), which
    /// saves a thread hop per I/O event; it must be installed before any task runs.
    /// `LEVEE_EVENT_LOOPS=N` sets the number of event-loop threads (default: one per core), for an
    /// agent given less CPU than the machine has.
    static func main() async {
        let environment = ProcessInfo.processInfo.environment
        if let loops = environment["LEVEE_EVENT_LOOPS"].flatMap(Int.init), (1...256).contains(loops) {
            NIOSingletons.groupLoopCountSuggestion = loops
        }
        if environment["LEVEE_NIO_EXECUTOR"] == "1" {
            _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        await main(nil)
    }
}
