import Glibc

/// Why a socket could not be prepared; each case says what to do.
public enum UnixSocketError: Error, Sendable, CustomStringConvertible {
    case pathTooLong(path: String)
    case inUse(path: String)
    case notASocket(path: String)
    case untrustedDirectory(path: String)
    case system(call: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .pathTooLong(let path):
            "\(path): a Unix socket path must be at most 107 bytes; choose a shorter one"
        case .inUse(let path):
            "\(path): another agent is listening on this socket; stop it first (levee status --socket \(path) shows it), or choose another path"
        case .notASocket(let path):
            "\(path): exists and is not a socket; refusing to replace it"
        case .untrustedDirectory(let path):
            "\(path): the socket's folder must be a directory owned by this user or root; refusing to use it"
        case .system(let call, let path, let code):
            "\(path): \(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// A listening Unix-domain socket the agent binds itself, so that it can refuse a path a live agent
/// holds, replace only a stale socket file, and set the file's mode before anyone can connect.
public struct UnixListeningSocket: Sendable {
    /// The listening descriptor, to hand to the server transport (which takes ownership of it).
    public let descriptor: Int32
    public let path: String
    /// The socket file's inode, so that the agent removes its own file only.
    public let inode: UInt64

    /// `mkdir -p` of the parent, probe (a live agent answers → refuse), unlink a stale socket, bind,
    /// chmod to `mode`, then listen.
    public static func bind(
        path: String,
        mode: UInt32,
        backlog: Int32 = 1024
    ) throws(UnixSocketError) -> UnixListeningSocket {
        guard path.utf8.count <= 107 else { throw .pathTooLong(path: path) }
        try makeParentDirectories(of: path)

        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path: path) }
            if isAnswering(path) { throw .inUse(path: path) }
            guard unlink(path) == 0 || errno == ENOENT else { throw .system(call: "unlink", path: path, errno: errno) }
        }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(call: "socket", path: path, errno: errno) }
        var address = socketAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .system(call: "bind", path: path, errno: code)
        }
        guard chmod(path, mode_t(mode)) == 0, listen(fd, backlog) == 0, stat(path, &info) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw .system(call: "chmod/listen", path: path, errno: code)
        }
        return UnixListeningSocket(descriptor: fd, path: path, inode: UInt64(info.st_ino))
    }

    /// Removes the socket file if it still is the one this agent bound.
    public func removeFile() {
        var info = stat()
        if lstat(path, &info) == 0, UInt64(info.st_ino) == inode {
            unlink(path)
        }
    }

    /// Whether a client's connection waits in the accept queue (the descriptor polls readable).
    public var hasPendingConnections: Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLIN) != 0
    }

    /// Closes the descriptor and removes the file, for a start that failed before the server took it.
    public func abandon() {
        close(descriptor)
        removeFile()
    }

    /// Whether something accepts connections on the socket at `path`.
    public static func isAnswering(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = socketAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return connected == 0
    }

    private static func socketAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() where index < buffer.count - 1 {
                buffer[index] = byte
            }
        }
        return address
    }

    /// `mkdir -p` with mode 0750 (the app's group may reach the socket, others may not), then checks
    /// that the socket's folder is a real directory owned by this user or root: in a shared folder such
    /// as /tmp, another user could otherwise have made it first and watch or replace the socket.
    private static func makeParentDirectories(of path: String) throws(UnixSocketError) {
        var prefix = ""
        let components = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        for component in components {
            prefix += "/" + component
            if mkdir(prefix, 0o750) != 0 && errno != EEXIST {
                throw .system(call: "mkdir", path: prefix, errno: errno)
            }
        }
        guard !prefix.isEmpty else { return }
        var info = stat()
        guard lstat(prefix, &info) == 0 else { throw .system(call: "lstat", path: prefix, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == getuid() || info.st_uid == 0 else {
            throw .untrustedDirectory(path: prefix)
        }
    }
}
