import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP/1.1 upstream on loopback that integration tests make answer, fail, stall, reset, die and
/// come back on command.
///
/// ```swift
/// let payments = try await TestHTTPServer.start()
/// payments.behaviour = .respond(status: 500, body: "boom")
/// payments.setBehaviour(.stall(.seconds(10), then: .ok), forPath: "/slow")
/// // … drive the agent against payments.address …
/// #expect(payments.requestCount == 3)
/// try await payments.stop()     // the port is closed: connects are refused
/// try await payments.restart()  // the same port answers again
/// ```
///
/// Connections are keep-alive (HTTP/1.1, `content-length` on every answer), as a pooled client such as
/// AsyncHTTPClient expects. `stop()` closes the listener and every accepted connection, so that a client
/// sees the endpoint die rather than a listener that merely stopped accepting.
public final class TestHTTPServer: Sendable {
    /// How many received requests ``requests`` keeps (the newest); ``requestCount`` counts them all.
    public static let requestLogLimit = 1000

    /// The address the server binds, `127.0.0.1` unless told otherwise.
    public let host: String
    private let state: Mutex<State>

    private struct State {
        var phase: Phase = .stopped
        /// Bumped on every bind and every stop, so that a connection accepted by an old listener
        /// while it was being closed is refused rather than adopted.
        var generation = 0
        var port: Int
        var behaviour: TestHTTPBehaviour = .ok
        var pathBehaviours: [String: TestHTTPBehaviour] = [:]
        var requests: [TestHTTPRequest] = []
        var requestCount = 0
        var acceptedConnections = 0
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    private enum Phase {
        case stopped
        case binding
        case listening(any Channel)
        case stopping
    }

    /// Why ``restart()`` could not listen.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The server is listening, binding or stopping; `stop()` it first.
        case notStopped

        public var description: String {
            switch self {
            case .notStopped: "the test HTTP server is still running: stop() it before restart()"
            }
        }
    }

    private init(host: String, port: Int) {
        self.host = host
        self.state = Mutex(State(port: port))
    }

    /// Listens on `host:port`; port 0 (the default) picks a free port, which ``restart()`` then reuses.
    /// The server answers 200 with an empty body until told otherwise.
    public static func start(host: String = "127.0.0.1", port: Int = 0) async throws -> TestHTTPServer {
        let server = TestHTTPServer(host: host, port: port)
        try await server.listen()
        return server
    }

    /// The bound port (the requested one, or the one picked for port 0).
    public var port: Int { state.withLock { $0.port } }

    /// `host:port`, e.g. `127.0.0.1:40123`.
    public var address: String { "\(host):\(port)" }

    /// Whether the server is listening.
    public var isListening: Bool {
        state.withLock {
            if case .listening = $0.phase { return true }
            return false
        }
    }

    /// What the server does with a request whose path has no behaviour of its own (see
    /// ``setBehaviour(_:forPath:)``). Read when a request's head arrives.
    public var behaviour: TestHTTPBehaviour {
        get { state.withLock { $0.behaviour } }
        set { state.withLock { $0.behaviour = newValue } }
    }

    /// Makes requests to exactly `path` (the target without its query, e.g. `/slow`) behave as
    /// `behaviour`; nil returns that path to ``behaviour``.
    public func setBehaviour(_ behaviour: TestHTTPBehaviour?, forPath path: String) {
        state.withLock { $0.pathBehaviours[path] = behaviour }
    }

    /// The behaviour that a request for `path` gets now.
    public func behaviour(forPath path: String) -> TestHTTPBehaviour {
        state.withLock { $0.pathBehaviours[path] ?? $0.behaviour }
    }

    /// How many requests arrived since start or ``resetCounters()``, including those the server reset,
    /// closed or is still stalling. A request counts once its body is read (its head, for `.reset` and
    /// `.close`), so a test can poll this to know that a stall has begun.
    public var requestCount: Int { state.withLock { $0.requestCount } }

    /// The last ``requestLogLimit`` requests, oldest first.
    public var requests: [TestHTTPRequest] { state.withLock { $0.requests } }

    /// How many TCP connections the server accepted since start or ``resetCounters()``: with a pooled
    /// keep-alive client, fewer than ``requestCount``.
    public var acceptedConnections: Int { state.withLock { $0.acceptedConnections } }

    /// How many accepted connections are open now.
    public var openConnections: Int { state.withLock { $0.connections.count } }

    /// Forgets the recorded requests and zeroes the counters; behaviours stay.
    public func resetCounters() {
        state.withLock {
            $0.requests.removeAll()
            $0.requestCount = 0
            $0.acceptedConnections = 0
        }
    }

    /// Closes the listener and every accepted connection, cutting short any stall, and returns once all
    /// are closed: afterwards a connect to ``port`` is refused. Stopping a stopped server does nothing.
    public func stop() async throws {
        let toClose: (listener: any Channel, connections: [any Channel])? = state.withLock { state in
            guard case .listening(let listener) = state.phase else { return nil }
            state.phase = .stopping
            state.generation += 1
            let connections = Array(state.connections.values)
            state.connections.removeAll()
            return (listener, connections)
        }
        guard let toClose else { return }
        // Whatever happens to one close, the others still happen and the phase still ends.
        defer { state.withLock { $0.phase = .stopped } }
        try? await toClose.listener.close()
        for connection in toClose.connections {
            connection.close(promise: nil)
            try? await connection.closeFuture.get()
        }
    }

    /// Listens again on the same port after ``stop()`` (`SO_REUSEADDR`, so the closed connections'
    /// TIME_WAIT does not block the bind): an upstream that recovers after a crash. Behaviours and
    /// counters carry over.
    ///
    /// - Throws: ``Failure/notStopped`` when the server is not stopped, or the bind's error (for port 0,
    ///   another process may have taken the port meanwhile).
    public func restart() async throws {
        try await listen()
    }

    private func listen() async throws {
        let (generation, port) = try state.withLock { state in
            guard case .stopped = state.phase else { throw Failure.notStopped }
            state.phase = .binding
            state.generation += 1
            return (state.generation, state.port)
        }
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard self.adopt(channel, generation: generation) else {
                        throw ChannelError.ioOnClosedChannel
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(TestHTTPConnectionHandler(server: self))
                }
            }
        do {
            let listener = try await bootstrap.bind(host: host, port: port).get()
            state.withLock { state in
                state.phase = .listening(listener)
                state.port = listener.localAddress?.port ?? port
            }
        } catch {
            state.withLock { $0.phase = .stopped }
            throw error
        }
    }

    /// Registers an accepted connection so that `stop()` can close it; false (refuse it) when the
    /// listener that accepted it is being stopped.
    private func adopt(_ channel: any Channel, generation: Int) -> Bool {
        let adopted = state.withLock { state in
            guard state.generation == generation else { return false }
            switch state.phase {
            case .binding, .listening: break
            case .stopped, .stopping: return false
            }
            state.connections[ObjectIdentifier(channel)] = channel
            state.acceptedConnections += 1
            return true
        }
        if adopted {
            channel.closeFuture.whenComplete { _ in
                _ = self.state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return adopted
    }

    func record(_ request: TestHTTPRequest) {
        state.withLock { state in
            state.requestCount += 1
            state.requests.append(request)
            if state.requests.count > Self.requestLogLimit {
                state.requests.removeFirst(state.requests.count - Self.requestLogLimit)
            }
        }
    }
}
