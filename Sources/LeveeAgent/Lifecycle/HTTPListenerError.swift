/// Why the HTTP listener could not start; says which key to change.
public struct HTTPListenerError: Error, Sendable, CustomStringConvertible {
    public var address: String
    public var reason: String

    public var description: String {
        "listen.http: cannot listen on \(address): \(reason); set listen.http (or --http) to another host:port, or off"
    }
}
