public import NIOCore

extension SocketAddress {
    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address and a port, as memberlist carries them in
    /// `Addr`/`Port` and `SourceAddr`/`SourcePort` (memberlist net.go `alive`, `ping`).
    public init(gossipAddress bytes: [UInt8], port: UInt16) throws {
        switch bytes.count {
        case 4:
            self = try SocketAddress(ipAddress: bytes.map { String($0) }.joined(separator: "."), port: Int(port))
        case 16:
            var groups: [String] = []
            for index in stride(from: 0, to: 16, by: 2) {
                groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
            }
            self = try SocketAddress(ipAddress: groups.joined(separator: ":"), port: Int(port))
        default:
            throw SocketAddressError.unsupported
        }
    }

    /// The raw IP bytes memberlist puts on the wire: 4 for IPv4, 16 for IPv6, empty otherwise.
    public var gossipAddressBytes: [UInt8] {
        switch self {
        // sockaddr_in: family (2 bytes, or length and family on BSD), port (2), address (4), in network
        // order; sockaddr_in6: family (2), port (2), flow info (4), address (16).
        case .v4(let address):
            withUnsafeBytes(of: address.address) { Array($0[4..<8]) }
        case .v6(let address):
            withUnsafeBytes(of: address.address) { Array($0[8..<24]) }
        case .unixDomainSocket:
            []
        }
    }

    /// The port as memberlist carries it, 0 when there is none.
    public var gossipPort: UInt16 { UInt16(clamping: port ?? 0) }
}
