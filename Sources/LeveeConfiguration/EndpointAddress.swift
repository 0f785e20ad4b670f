/// One endpoint of an upstream, as the configuration writes it: `host:port`, or `[v6-address]:port`.
///
/// The host is kept as written (a name or a literal address): resolving it is the connection's job,
/// so that a DNS change is seen without a reload.
public struct EndpointAddress: Sendable, Hashable, CustomStringConvertible {
    /// A DNS name or a literal IPv4 or IPv6 address, without brackets.
    public var host: String
    /// The TCP port.
    public var port: Int

    /// An address from its parts, taken as given (no check): `init?(parsing:)` is the checked way in.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// The address `text` spells (`127.0.0.1:8081`, `payments.internal:443`, `[::1]:8080`), or nil.
    ///
    /// The port must be 1-65535. An IPv6 address must be in brackets, because without them its last
    /// group could not be told from the port (RFC 3986 §3.2.2 writes it the same way).
    public init?(parsing text: some StringProtocol) {
        guard let address = Self.parse(Substring(text), portRange: 1...65535) else { return nil }
        self = address
    }

    /// `host:port`, with an IPv6 host in brackets: the form `init?(parsing:)` reads back.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension EndpointAddress {
    /// The longest host accepted: a DNS name is at most 253 characters (RFC 1035 §2.3.4).
    static let maximumHostLength = 253

    /// `host:port` with the port in `portRange`, or nil.
    public static func parse(_ text: Substring, portRange: ClosedRange<Int>) -> EndpointAddress? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        guard let host = parseHost(text[..<colon]), let port = parsePort(text[text.index(after: colon)...]),
            portRange.contains(port)
        else { return nil }
        return EndpointAddress(host: host, port: port)
    }

    /// A host alone: a name or an IPv4 address, or an IPv6 address in brackets (returned without them).
    static func parseHost(_ text: Substring) -> String? {
        if text.hasPrefix("[") {
            guard text.hasSuffix("]"), text.count > 2 else { return nil }
            let inner = text.dropFirst().dropLast()
            // An IPv6 literal, possibly with a zone (`fe80::1%eth0`, RFC 6874).
            guard inner.contains(":"), inner.utf8.count <= maximumHostLength,
                inner.unicodeScalars.allSatisfy({ isHostCharacter($0) || $0 == ":" || $0 == "%" })
            else { return nil }
            return String(inner)
        }
        guard !text.isEmpty, text.utf8.count <= maximumHostLength,
            text.unicodeScalars.allSatisfy(isHostCharacter)
        else { return nil }
        return String(text)
    }

    /// Letters, digits, `.`, `-` and `_` (RFC 1123 names, plus the `_` that service records use).
    private static func isHostCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_": true
        default: false
        }
    }

    /// One to five ASCII digits; the range is the caller's to check.
    private static func parsePort(_ text: Substring) -> Int? {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return Int(text)
    }
}
