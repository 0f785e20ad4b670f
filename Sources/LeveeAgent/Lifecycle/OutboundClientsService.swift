import ServiceLifecycle

/// Runs the outbound gRPC clients' connections; at shutdown, closes every outbound connection.
struct OutboundClientsService: Service {
    let runner: GRPCClientRunner
    let registry: UpstreamRegistry

    func run() async throws {
        await withGracefulShutdownHandler {
            await runner.runClients()
        } onGracefulShutdown: {
            runner.finish()
        }
        await registry.shutdown()
    }
}
