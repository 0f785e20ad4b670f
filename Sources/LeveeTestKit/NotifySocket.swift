import Glibc
import Synchronization

/// A datagram socket standing in for systemd's notification socket (`$NOTIFY_SOCKET`): bound to a
/// path or to an abstract name, it keeps every datagram it is sent, in order, for a test to read.
/// Reading never blocks; wait for a message with `eventually`.
public final class NotifySocket: Sendable {
    /// The value for `NOTIFY_SOCKET`: the path, or `@name` for an abstract socket.
    public let name: String
    private let descriptor: Int32
    private let received = Mutex<[String]>([])

    /// Binds a socket at `path`, or (`abstract`) on an abstract name made from `path`'s last part.
    public init(path: String, abstract: Bool = false) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ChildProcess.Failure(description: "socket: errno \(errno)") }
        let bytes = Array((abstract ? "@" + path.split(separator: "/").last.map(String.init)! : path).utf8)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
            if abstract { buffer[0] = 0 }
        }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let length = socklen_t(abstract ? offset + bytes.count : MemoryLayout<sockaddr_un>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard bound == 0 else {
            close(fd)
            throw ChildProcess.Failure(description: "bind \(path): errno \(errno)")
        }
        descriptor = fd
        name = String(decoding: bytes, as: UTF8.self)
    }

    deinit {
        close(descriptor)
        if !name.hasPrefix("@") { unlink(name) }
    }

    /// Every datagram received so far, oldest first.
    public var messages: [String] {
        var arrived: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            arrived.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
        return received.withLock { messages in
            messages += arrived
            return messages
        }
    }
}
