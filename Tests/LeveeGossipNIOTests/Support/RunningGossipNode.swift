import LeveeGossip
import LeveeGossipNIO
import LeveeTestKit
import NIOCore
import Synchronization
import Testing

/// The events a running node delivered, for bounded polls in tests.
final class GossipEventLog: Sendable {
    private let events = Mutex<[GossipEvent]>([])

    func append(_ event: GossipEvent) { events.withLock { $0.append(event) } }

    var all: [GossipEvent] { events.withLock { $0 } }

    /// Polls until an event satisfies `condition`, at most `timeout`.
    func first(
        within timeout: Duration = .seconds(10),
        where condition: (GossipEvent) -> Bool
    ) async throws -> GossipEvent? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        repeat {
            if let event = all.first(where: condition) { return event }
            try await Task.sleep(for: .milliseconds(20))
        } while clock.now < deadline
        return all.first(where: condition)
    }

    /// Whether some event so far says `name` failed.
    func sawFailure(of name: String) -> Bool {
        all.contains { if case .memberFailed(let member) = $0 { member.name == name } else { false } }
    }
}

extension GossipNodeConfiguration {
    /// A node on 127.0.0.1, a free port, LAN timing like `serf agent`'s default.
    static func loopback(
        _ name: String,
        profile: Profile = .lan,
        tags: [String: String] = [:],
        encryptKey: String? = nil
    ) -> GossipNodeConfiguration {
        GossipNodeConfiguration(
            name: name,
            bindHost: "127.0.0.1",
            bindPort: 0,
            encryptKey: encryptKey,
            profile: profile,
            tags: tags,
            randomSeed: 0x5EED
        )
    }
}

/// A node running in a child task; `stop()` cancels it without leaving (a crash, to the pool).
struct RunningGossipNode: Sendable {
    let node: GossipNode
    let log: GossipEventLog

    /// `host:port` of the node, for `serf join`.
    func address() async throws -> String {
        let address = try await node.localAddress()
        return "127.0.0.1:\(address.port ?? 0)"
    }

    /// Polls until the node lists `name` with `status`.
    func waitForMember(
        _ name: String,
        status: SerfMemberStatus,
        within timeout: Duration = .seconds(10)
    ) async throws -> Bool {
        let reached = try await eventually(within: timeout) { node.member(named: name)?.status == status }
        if !reached {
            // Say what the node did see, so a failure can be diagnosed from the test output alone.
            let members = node.members.map { "\($0.name)=\($0.status)" }.joined(separator: ", ")
            Issue.record(
                "\(node.configuration.name) never saw \(name) \(status) within \(timeout); members: [\(members)]; counters: \(node.counters)"
            )
        }
        return reached
    }
}

/// Runs a node for the duration of `body`: `run()` and an event reader in child tasks; cancelled
/// (no leave) and awaited afterwards, whatever happens.
func withGossipNode<Result>(
    _ configuration: GossipNodeConfiguration,
    _ body: (RunningGossipNode) async throws -> Result
) async throws -> Result {
    let node = try GossipNode(configuration: configuration)
    let running = RunningGossipNode(node: node, log: GossipEventLog())
    return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
        group.addTask { try await node.run() }
        group.addTask {
            for await event in node.events { running.log.append(event) }
        }
        do {
            _ = try await node.localAddress()
            let result = try await body(running)
            group.cancelAll()
            try await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
