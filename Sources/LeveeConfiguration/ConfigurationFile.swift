#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading the configuration file: the only I/O of this module.
enum ConfigurationFile {
    /// The bytes of the file at `path`, at most `limit` of them.
    static func contents(of path: String, limit: Int) throws(ConfigurationFileError) -> [UInt8] {
        func failure(_ code: Int32) -> ConfigurationFileError {
            ConfigurationFileError(
                file: path,
                keyPath: "",
                value: "\(String(cString: strerror(code))) (errno \(code))",
                expected: "a readable file"
            )
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= limit else {
                throw ConfigurationFileError(
                    file: path,
                    keyPath: "",
                    value: "a larger file",
                    expected: "a file of at most \(limit) bytes"
                )
            }
        }
    }
}
