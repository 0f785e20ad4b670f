import ServiceLifecycle

/// The first service to hear of a graceful shutdown (it is the last of the group): marks the agent
/// as draining, so that `/readyz` answers 503 while the servers drain.
struct DrainNotice: Service {
    let readiness: Readiness

    func run() async throws {
        try? await gracefulShutdown()
        readiness.drain()
    }
}
