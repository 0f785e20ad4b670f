/// Where a member's memberlist listens: raw IP bytes (4 for IPv4, 16 for IPv6) and a UDP/TCP port.
///
/// This is the shape memberlist's `Node.Addr`/`Node.Port` and Serf's `messageQuery.Addr`/`Port` carry on
/// the wire, so the Serf layer needs no socket-address type of its own; the shell converts it to
/// whatever its transport uses.
public struct SerfMemberAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: [UInt8]
    public var port: UInt16

    public init(ip: [UInt8], port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// `a.b.c.d:port` for IPv4, `[hex:…]:port` otherwise (uncompressed), like Go's `net.UDPAddr.String`
    /// for the IPv4 case.
    public var description: String {
        if ip.count == 4 {
            return ip.map(String.init).joined(separator: ".") + ":\(port)"
        }
        var groups: [String] = []
        var index = 0
        while index + 1 < ip.count {
            groups.append(String(UInt16(ip[index]) << 8 | UInt16(ip[index + 1]), radix: 16))
            index += 2
        }
        return "[\(groups.joined(separator: ":"))]:\(port)"
    }
}
