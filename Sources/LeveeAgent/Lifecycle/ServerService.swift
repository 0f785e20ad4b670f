import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOPosix
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
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Cancelled: the server has ended (or the agent is cancelled), nothing to shut down.
                do { try await gracefulShutdown() } catch { return }
                await stopAccepting()
                server.beginGracefulShutdown()
            }
            // The server ends after the graceful shutdown has let its calls finish, or with an error.
            try await withTaskExecutorPreference(handlerExecutor) {
                try await server.serve()
            }
            group.cancelAll()
        }
    }

    /// Lets the server finish setting up every connection a client has made before its listener
    /// closes. SwiftNIO traps when a listener closes while a connection it accepted is still being
    /// set up (apple/swift-nio#2813, open), and a client (a probe, the CLI) may connect at any
    /// moment. So: wait until the server has its socket (a SIGTERM may come the moment the agent
    /// starts); remove the file, so that no client can connect any more; wait (at most a second)
    /// until the accept queue has stayed empty for a few milliseconds (a client blocked in
    /// `connect` on a full queue still lands in it); then let every event loop run, twice, the setup
    /// it was handed. This narrows the window to nearly nothing; only a flood of connections at the
    /// moment of shutdown can still hit it.
    private func stopAccepting() async {
        _ = try? await server.transport.listeningAddress
        socket.removeFile()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(1)
        var quiet = 0
        while quiet < 3 && clock.now < deadline && !Task.isCancelled {
            quiet = socket.hasPendingConnections ? 0 : quiet + 1
            try? await Task.sleep(for: .milliseconds(1))
        }
        for _ in 0..<2 {
            // The servers' transports run on the singleton group (their default; Agent sets no other).
            for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
                try? await loop.submit {}.get()
            }
        }
    }
}
