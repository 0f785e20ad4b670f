public import LeveeGossip
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

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

    /// Every address the seed's host resolves to, in the resolver's order, without repeats (memberlist
    /// `resolveAddr` joins them all). A Kubernetes headless Service name resolves to one address per
    /// ready pod, the agent's own among them: joining only the first could mean joining itself.
    public func resolveAll() throws(GossipNodeError) -> [NodeAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw GossipNodeError(.invalidSeed, "cannot resolve \(host): \(reason)")
        }
        defer { freeaddrinfo(first) }
        var addresses: [NodeAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            next = entry.pointee.ai_next
            guard let socketAddress = entry.pointee.ai_addr else { continue }
            let resolved: SocketAddress
            switch entry.pointee.ai_family {
            case AF_INET:
                resolved = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    SocketAddress($0.pointee, host: host)
                }
            case AF_INET6:
                resolved = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    SocketAddress($0.pointee, host: host)
                }
            default:
                continue
            }
            if let address = NodeAddress(ip: resolved.gossipAddressBytes, port: UInt16(port)),
                !addresses.contains(address)
            {
                addresses.append(address)
            }
        }
        guard !addresses.isEmpty else { throw GossipNodeError(.invalidSeed, "\(host) resolved to no IP address") }
        return addresses
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
