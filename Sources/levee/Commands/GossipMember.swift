import ArgumentParser
import Foundation
import LeveeGossip
import LeveeGossipNIO
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `levee gossip-member`: runs only a member of the gossip pool, without the Guard API.
///
/// It is what `serf agent` is to serf: a pool member and nothing else, for checking a pool (interop
/// with serf, encryption keys) and for the gossip benchmark, which runs many of them beside serf
/// agents. Events go to standard output as JSON lines, one per event, stamped with the wall clock in
/// milliseconds so that a harness can line them up with its own clock. SIGTERM or SIGINT leaves the
/// pool gracefully; SIGKILL is a crash to the pool.
struct GossipMemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip-member",
        abstract: "Run only a gossip pool member (no Guard API): for pool checks and the gossip benchmark.",
        discussion: """
            Prints one JSON object per line: {"time_ms":…,"event":"ready","name":…,"address":…} once \
            the sockets are bound, then member-joined, member-updated, member-leaving, member-left, \
            member-failed, member-reaped, user-event and query events.
            """
    )

    @Option(help: "The member's name in the pool (unique).")
    var name: String

    @Option(help: "host:port for the UDP and TCP gossip sockets (port 0: any free port).")
    var bind: String = "0.0.0.0:7946"

    @Option(help: "host:port the pool should use to reach this member, when it differs from --bind.")
    var advertise: String?

    @Option(help: "A member to join (host:port); repeat for several.")
    var join: [String] = []

    @Option(name: .customLong("encrypt-key"), help: "The pool's key (base64 of 16, 24 or 32 bytes, as serf -encrypt).")
    var encryptKey: String?

    @Option(help: "Timing profile: lan, wan or local (as serf -profile).")
    var profile: String = "lan"

    @Option(help: "A tag key=value carried in the member's metadata; repeat for several.")
    var tag: [String] = []

    func run() async throws {
        let configuration = try makeConfiguration()
        let node = try GossipNode(configuration: configuration)
        let group = ServiceGroup(
            configuration: .init(
                services: [node],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "levee.gossip-member")
            )
        )
        // The printer is no service of the group: it must outlive the node's graceful shutdown to
        // print the leave, and it ends by itself when the node's event stream does.
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                do {
                    try await group.run()
                } catch {
                    FileHandle.standardError.write(Data("levee gossip-member: \(bind): \(error)\n".utf8))
                    throw ExitCode.failure
                }
            }
            // The printer fails only when the node could not start; the group reports why.
            tasks.addTask { try? await EventPrinter(node: node).run() }
            try await tasks.waitForAll()
        }
    }

    private func makeConfiguration() throws -> GossipNodeConfiguration {
        let bindAddress = try GossipSeed.bindAddress(bind)
        let advertiseAddress = try advertise.map { try GossipSeed($0) }
        guard let profile = GossipNodeConfiguration.Profile(rawValue: profile) else {
            throw ValidationError("--profile must be lan, wan or local, not \(profile)")
        }
        var tags: [String: String] = [:]
        for pair in tag {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--tag takes key=value, not \(pair)")
            }
            tags[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        let configuration = GossipNodeConfiguration(
            name: name,
            bindHost: bindAddress.host,
            bindPort: bindAddress.port,
            advertiseHost: advertiseAddress?.host,
            advertisePort: advertiseAddress?.port,
            join: join,
            encryptKey: encryptKey,
            profile: profile,
            tags: tags
        )
        do {
            try configuration.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        return configuration
    }
}

/// Prints the node's events as JSON lines until the node stops.
private struct EventPrinter {
    let node: GossipNode

    func run() async throws {
        let address = try await node.localAddress()
        let host = address.ipAddress ?? node.configuration.bindHost
        let port = address.port ?? node.configuration.bindPort
        emit(["event": "ready", "name": node.configuration.name, "address": "\(host):\(port)"])
        for await event in node.events {
            emit(Self.fields(of: event))
        }
    }

    private static func fields(of event: GossipEvent) -> [String: String] {
        func member(_ kind: String, _ member: GossipMember) -> [String: String] {
            var fields = ["event": kind, "member": member.name, "address": "\(member.address)"]
            fields["status"] = "\(member.status)"
            for (key, value) in member.tags { fields["tag.\(key)"] = value }
            return fields
        }
        switch event {
        case .memberJoined(let joined): return member("member-joined", joined)
        case .memberUpdated(let updated): return member("member-updated", updated)
        case .memberLeaving(let leaving): return member("member-leaving", leaving)
        case .memberLeft(let left): return member("member-left", left)
        case .memberFailed(let failed): return member("member-failed", failed)
        case .memberReaped(let reaped): return member("member-reaped", reaped)
        case .userEvent(let name, let payload, _):
            return ["event": "user-event", "name": name, "payload": String(decoding: payload, as: UTF8.self)]
        case .query(let query):
            return ["event": "query", "name": query.name]
        }
    }

    private func emit(_ fields: [String: String]) {
        var object: [String: Any] = fields
        object["time_ms"] = Int(Date().timeIntervalSince1970 * 1000)
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
