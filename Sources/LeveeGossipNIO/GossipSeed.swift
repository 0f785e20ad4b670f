public import LeveeGossip
import NIOCore

/// A member to join, written `host:port` or `[ipv6]:port` (serf `-join`; memberlist `Join` also
/// takes `name/host:port`, whose name part is ignored here).
public struct GossipSeed: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Parses `text`; throws `GossipNodeError.invalidSeed` when it is not `host:port`.
    public init(_ text: String) throws(GossipNodeError) {
        try self.init(text, ports: 1...65_535)
    }

    /// Parses an address to bind, `host:port` or `[ipv6]:port`, where port 0 (any free port) is
    /// allowed, as it is not for a member to join.
    public static func bindAddress(_ text: String) throws(GossipNodeError) -> GossipSeed {
        try GossipSeed(text, ports: 0...65_535)
    }

    private init(_ text: String, ports: ClosedRange<Int>) throws(GossipNodeError) {
        var rest = Substring(text)
        if let slash = rest.lastIndex(of: "/") { rest = rest[rest.index(after: slash)...] }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                throw GossipNodeError(.invalidSeed, "\"\(text)\" is not [ipv6]:port")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else {
                throw GossipNodeError(.invalidSeed, "\"\(text)\" has no port; write host:port")
            }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), ports.contains(port) else {
            throw GossipNodeError(
                .invalidSeed,
                "\"\(text)\" is not host:port with a port in \(ports.lowerBound)...\(ports.upperBound)"
            )
        }
        self.host = String(host)
        self.port = port
    }

    /// The seed's memberlist address; a host name is resolved (blocking, as Go's resolver is).
    public func resolve() throws(GossipNodeError) -> NodeAddress {
        let socketAddress: SocketAddress
        do {
            socketAddress = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw GossipNodeError(.invalidSeed, "cannot resolve \(host): \(error)")
        }
        guard let address = NodeAddress(ip: socketAddress.gossipAddressBytes, port: UInt16(port)) else {
            throw GossipNodeError(.invalidSeed, "\(host) resolved to \(socketAddress), not an IP address")
        }
        return address
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
