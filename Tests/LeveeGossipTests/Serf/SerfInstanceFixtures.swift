import LeveeGossip
import LeveePolicy
import LeveeTestKit

/// Builders shared by the `SerfInstance` tests.
enum SerfFixture {
    static let start = ManualClock().now

    static func address(_ last: UInt8, port: UInt16 = 7946) -> SerfMemberAddress {
        SerfMemberAddress(ip: [127, 0, 0, last], port: port)
    }

    static func instance(
        _ name: String = "levee-1",
        last: UInt8 = 1,
        tags: [String: String] = [:],
        configure: (inout SerfConfiguration) -> Void = { _ in }
    ) throws -> SerfInstance {
        var configuration = SerfConfiguration(nodeName: name, address: address(last), tags: tags)
        configure(&configuration)
        return try SerfInstance(configuration: configuration)
    }

    static func node(_ name: String, last: UInt8, tags: [String: String] = [:]) throws -> SerfNode {
        SerfNode(name: name, address: address(last), meta: try Tags.encode(tags))
    }

    static func broadcasts(_ directives: [SerfDirective]) -> [[UInt8]] {
        directives.compactMap {
            if case .broadcast(let bytes, _) = $0 { return bytes }
            return nil
        }
    }

    static func sent(_ directives: [SerfDirective]) -> [(bytes: [UInt8], to: SerfMemberAddress)] {
        directives.compactMap {
            if case .sendUserMessage(let bytes, let to) = $0 { return (bytes, to) }
            return nil
        }
    }

    static func events(_ directives: [SerfDirective]) -> [UserEvent] {
        directives.compactMap {
            if case .deliverEvent(let event) = $0 { return event }
            return nil
        }
    }

    static func queries(_ directives: [SerfDirective]) -> [IncomingQuery] {
        directives.compactMap {
            if case .deliverQuery(let query) = $0 { return query }
            return nil
        }
    }

    static func answers(_ directives: [SerfDirective]) -> [SerfQueryAnswer] {
        directives.compactMap {
            if case .queryAnswered(let answer) = $0 { return answer }
            return nil
        }
    }

    static func query(
        lTime: UInt64 = 5,
        id: UInt32 = 77,
        filters: [[UInt8]]? = nil,
        flags: UInt32 = Query.ackFlag,
        name: String = "whoami",
        from last: UInt8 = 9
    ) -> Query {
        Query(
            lTime: LamportTime(lTime),
            id: id,
            addr: address(last).ip,
            port: 8000,
            sourceNode: "serf-agent",
            filters: filters,
            flags: flags,
            timeout: .seconds(2),
            name: name,
            payload: Array("hi".utf8)
        )
    }
}
