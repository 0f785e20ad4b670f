import LeveePolicy
import NIOCore
import NIOHTTP1

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}

/// A request the proxy listener read, made into a guarded call: the upstream it names, the request
/// to forward and the call's options; or, for a request that cannot be made into one, the answer.
struct ProxyRequest {
    /// The upstream's name: the `Host` header's name without its port.
    var name: String
    /// `host:port` when the `Host` header has a port: the name of a dynamic upstream, tried when no
    /// upstream is named `name`.
    var nameWithPort: String?
    var request: HTTPUpstreamRequest
    var options: GuardedCallOptions

    /// The per-request option headers, removed before the request is forwarded.
    enum OptionHeader {
        static let timeout = LeveeTimeoutHeader.name
        static let priority = "x-levee-priority"
        static let cacheKey = "x-levee-cache-key"

        /// What the proxy does with a request header.
        enum Kind {
            case host, timeout, priority, cacheKey, idempotencyKey, expect, connection, hopByHop, other
        }

        /// The kind of the header `name` (any case); only names of a length that can match are lowered.
        static func kind(of name: String) -> Kind {
            switch name.utf8.count {
            case 4: return name.lowercased() == "host" ? .host : .other
            case 6: return name.lowercased() == "expect" ? .expect : .other
            case 10:
                switch name.lowercased() {
                case "connection": return .connection
                case "keep-alive": return .hopByHop
                default: return .other
                }
            case 15: return name.lowercased() == "idempotency-key" ? .idempotencyKey : .other
            case 16 where name.lowercased() == priority: return .priority
            case 17 where name.lowercased() == cacheKey: return .cacheKey
            case 18 where name.lowercased() == timeout: return .timeout
            default: return HopByHopHeaders.isDropped(name) ? .hopByHop : .other
            }
        }
    }

    /// What the proxy answers for `head` with `body`: a call to make, or a refusal.
    enum Parsed {
        case call(ProxyRequest)
        case refused(ProxyAnswer)
    }

    static func parse(_ head: HTTPRequestHead, body: ByteBuffer?) -> Parsed {
        // One pass over the headers: the options and the Host are taken out, hop-by-hop headers and
        // those the `connection` header names are dropped, the rest is forwarded as it came.
        var options = GuardedCallOptions()
        var host: String?
        var forwarded = HTTPHeaders()
        forwarded.reserveCapacity(head.headers.count + 1)
        var connectionNames: [String] = []
        for (name, value) in head.headers {
            switch OptionHeader.kind(of: name) {
            case .host:
                if host == nil { host = value }
            case .timeout:
                guard let timeout = LeveeTimeoutHeader.parse(value), timeout > .zero else {
                    return .refused(
                        .refusal(
                            .badRequest,
                            "\(OptionHeader.timeout): expected whole milliseconds above 0, got \(value.debugDescription)"
                        )
                    )
                }
                options.timeout = min(options.timeout ?? timeout, timeout)
            case .priority:
                switch value.lowercased() {
                case "critical": options.priority = .critical
                case "normal": options.priority = .normal
                case "sheddable": options.priority = .sheddable
                default:
                    return .refused(
                        .refusal(
                            .badRequest,
                            "\(OptionHeader.priority): expected critical, normal or sheddable, got \(value.debugDescription)"
                        )
                    )
                }
            case .cacheKey:
                options.cacheKey = value
            case .expect:
                break
            case .connection:
                for token in value.split(separator: ",") {
                    connectionNames.append(token.trimmingSpaces.lowercased())
                }
            case .hopByHop:
                break
            case .idempotencyKey:
                options.idempotencyKey = value
                forwarded.add(name: name, value: value)
            case .other:
                forwarded.add(name: name, value: value)
            }
        }
        if !connectionNames.isEmpty {
            forwarded = HTTPHeaders(forwarded.filter { !connectionNames.contains($0.name.lowercased()) })
        }
        forwarded.add(
            name: "via",
            value: head.version.major == 1 && head.version.minor == 0 ? "1.0 levee" : "1.1 levee"
        )

        var target = head.uri
        let authority: Substring
        if target.hasPrefix("/") {
            guard let host, !host.isEmpty else {
                return .refused(
                    .refusal(.badRequest, "the request has no Host header: name the upstream there (Host: payments)")
                )
            }
            authority = Substring(host)
        } else if let absolute = absoluteForm(target) {
            // `GET http://payments/path`: the agent used as an HTTP proxy (`http_proxy`, `curl -x`).
            authority = absolute.authority
            target = absolute.target
        } else {
            return .refused(.refusal(.badRequest, "the request target \(target.debugDescription) must start with /"))
        }
        guard let (name, port) = split(authority) else {
            return .refused(
                .refusal(.badRequest, "the Host \(String(authority).debugDescription) is not a name or host:port")
            )
        }
        return .call(
            ProxyRequest(
                name: String(name),
                nameWithPort: port.map { "\(name):\($0)" },
                request: HTTPUpstreamRequest(method: head.method, target: target, headers: forwarded, body: body),
                options: options
            )
        )
    }

    /// `http://authority/path` → its authority and its path (`/` when it has none).
    private static func absoluteForm(_ uri: String) -> (authority: Substring, target: String)? {
        let scheme = "http://"
        guard uri.utf8.count > scheme.utf8.count, uri.lowercased().hasPrefix(scheme) else { return nil }
        let rest = uri.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return (rest, "/") }
        let path = rest[slash...]
        return (rest[..<slash], path.hasPrefix("/") ? String(path) : "/" + path)
    }

    /// `name`, `name:port`, `[v6]:port` → the name (v6 without brackets) and the port, if any.
    static func split(_ authority: Substring) -> (Substring, Int?)? {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { return host.isEmpty ? nil : (host, nil) }
            guard after.hasPrefix(":"), let port = Int(after.dropFirst()), (1...65535).contains(port) else {
                return nil
            }
            return (host, port)
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2,
            !host.contains(where: { $0 == " " || $0 == "/" || $0 == "@" })
        else { return nil }
        guard parts.count == 2 else { return (host, nil) }
        guard let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
        return (host, port)
    }
}
