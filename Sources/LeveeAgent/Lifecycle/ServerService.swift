import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// A gRPC server on a socket the agent bound; removes the socket file when it stops.
struct ServerService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let socket: UnixListeningSocket
    let logger: Logger
    /// Where the handlers run; nil is the cooperative pool.
    let handlerExecutor: (any TaskExecutor)?

    func run() async throws {
        defer { socket.removeFile() }
        try await withGracefulShutdownHandler {
            try await withTaskExecutorPreference(handlerExecutor) {
                try await server.serve()
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
