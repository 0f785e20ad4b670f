import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix

/// Plain words for what went wrong on an upstream connection.
enum HTTP1Errors {
    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError {
            return describe(errno: error.errnoCode)
        }
        if let error = error as? NIOConnectionError {
            // The first failure of the connection attempts (one per address) says why.
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dns = error.dnsAAAAError ?? error.dnsAError { return "the name did not resolve: \(dns)" }
            return "no address to connect to"
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return "connect timed out"
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed: return "the connection closed"
            default: return "\(error)"
            }
        }
        if error is HTTPParserError {
            return "the upstream's answer is not valid HTTP/1.1 (\(error))"
        }
        return "\(error)"
    }

    static func describe(errno code: CInt) -> String {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ECONNRESET: "connection reset by the upstream"
        case EPIPE: "the upstream closed the connection"
        case ETIMEDOUT: "connect timed out"
        case ENETUNREACH: "network unreachable"
        case EHOSTUNREACH: "host unreachable"
        case EADDRNOTAVAIL: "address not available"
        default: String(cString: strerror(code)).lowercased()
        }
    }
}
