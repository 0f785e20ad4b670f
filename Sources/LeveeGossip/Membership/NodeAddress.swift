/// Where a member listens: its IP address (4 bytes for IPv4, 16 for IPv6) and the port it uses for
/// both UDP and TCP (memberlist `Node.Addr`, `Node.Port`).
///
/// A value that came off the wire is checked by `init?(ip:port:)`: an address of any other length
/// is not an address, and the message that carried it is ignored.
public struct NodeAddress: Hashable, Sendable, CustomStringConvertible {
    /// The raw IP bytes, as carried in `Alive.Addr`, `PushNodeState.Addr` and `Ping.SourceAddr`.
    public let ip: [UInt8]
    public let port: UInt16

    /// `nil` unless `ip` has 4 or 16 bytes.
    public init?(ip: [UInt8], port: UInt16) {
        guard ip.count == 4 || ip.count == 16 else { return nil }
        self.ip = ip
        self.port = port
    }

    /// An IPv4 address `a.b.c.d:port`.
    public static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) -> NodeAddress {
        NodeAddress(checkedIP: [a, b, c, d], port: port)
    }

    /// An IPv6 address from its 16 bytes; `nil` for any other length.
    public static func ipv6(_ bytes: [UInt8], port: UInt16) -> NodeAddress? {
        bytes.count == 16 ? NodeAddress(checkedIP: bytes, port: port) : nil
    }

    private init(checkedIP: [UInt8], port: UInt16) {
        self.ip = checkedIP
        self.port = port
    }

    public var isIPv6: Bool { ip.count == 16 }

    /// `10.0.0.1:7946` or `[fe80:0:0:0:0:0:0:1]:7946` (groups in hexadecimal, not compressed).
    public var description: String {
        if isIPv6 {
            var groups: [String] = []
            for index in stride(from: 0, to: 16, by: 2) {
                groups.append(String(UInt16(ip[index]) << 8 | UInt16(ip[index + 1]), radix: 16))
            }
            return "[\(groups.joined(separator: ":"))]:\(port)"
        }
        return ip.map(String.init).joined(separator: ".") + ":\(port)"
    }
}
