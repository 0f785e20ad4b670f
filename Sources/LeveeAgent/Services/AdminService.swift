import Foundation
public import GRPCCore
public import LeveeAPI
import LeveeConfiguration
import LeveeGossipNIO
import LeveePolicy
public import Logging

/// The operator API on the admin socket (mode 0600): status, upstreams, breaker overrides, reload.
public struct AdminService: Levee_V1_Admin.SimpleServiceProtocol {
    let registry: UpstreamRegistry
    let identity: AgentIdentity
    let reloader: Reloader
    let gossip: AgentGossip?
    let logger: Logger
    /// `host:port` of the HTTP listener, for `levee status`; nil when it is off.
    let httpAddress: String?
    /// The agent's chaos faults (`AddFault`, `ListFaults`, `ClearFaults`); nil: the agent has none, and
    /// the fault RPCs fail as when `chaos.enabled` is off.
    let faults: FaultTable?

    public init(
        registry: UpstreamRegistry,
        identity: AgentIdentity,
        reloader: Reloader,
        gossip: AgentGossip?,
        logger: Logger,
        httpAddress: String? = nil,
        faults: FaultTable? = nil
    ) {
        self.httpAddress = httpAddress
        self.faults = faults
        self.registry = registry
        self.identity = identity
        self.reloader = reloader
        self.gossip = gossip
        self.logger = logger
    }

    public func members(
        request: Levee_V1_MembersRequest,
        context: ServerContext
    ) async throws -> Levee_V1_MembersResponse {
        gossip?.membersResponse() ?? Levee_V1_MembersResponse()
    }

    public func status(request: Levee_V1_StatusRequest, context: ServerContext) async throws -> Levee_V1_StatusResponse
    {
        let configuration = registry.configuration
        let runtimes = registry.runtimes()
        var status = Levee_V1_StatusResponse()
        status.version = identity.version
        status.service = configuration.service
        status.pid = Int32(ProcessInfo.processInfo.processIdentifier)
        status.uptimeMs = UInt64(clamping: (ContinuousClock.now - identity.startedAt).nanoseconds / 1_000_000)
        status.configPath = configuration.sourcePath ?? ""
        status.socket = configuration.listen.socket
        status.adminSocket = configuration.listen.adminSocket
        status.upstreams = UInt32(clamping: runtimes.count)
        status.inFlight = UInt32(clamping: runtimes.reduce(0) { $0 + $1.inProgress })
        status.configGeneration = registry.generation
        status.openBreakers = runtimes.filter { $0.breakerState != .closed }.map(\.name)
        status.level = Levee_V1_ServiceLevelState(registry.serviceLevel())
        status.httpListen = httpAddress ?? ""
        if let gossip {
            for member in gossip.node.members { status.membersByStatus["\(member.status)", default: 0] += 1 }
        }
        return status
    }

    public func listUpstreams(
        request: Levee_V1_ListUpstreamsRequest,
        context: ServerContext
    ) async throws -> Levee_V1_ListUpstreamsResponse {
        var response = Levee_V1_ListUpstreamsResponse()
        if request.name.isEmpty {
            response.upstreams = registry.runtimes().map { Levee_V1_UpstreamInfo($0.info()) }
        } else {
            guard let runtime = registry.existingRuntime(named: request.name) else {
                throw RPCError(code: .notFound, message: "name: no upstream named \(request.name.debugDescription)")
            }
            response.upstreams = [Levee_V1_UpstreamInfo(runtime.info())]
        }
        return response
    }

    public func setBreaker(
        request: Levee_V1_SetBreakerRequest,
        context: ServerContext
    ) async throws -> Levee_V1_SetBreakerResponse {
        guard let override = CircuitBreaker.Override?(request.action) else {
            throw RPCError(code: .invalidArgument, message: "action: one of BREAKER_ACTION_OPEN, _CLOSE, _RESET")
        }
        guard let runtime = registry.existingRuntime(named: request.upstream) else {
            throw RPCError(code: .notFound, message: "upstream: no upstream named \(request.upstream.debugDescription)")
        }
        let (previous, current) = runtime.setBreaker(override)
        logger.notice("operator set the breaker of \(request.upstream): \(previous) -> \(current)")
        var response = Levee_V1_SetBreakerResponse()
        response.previous = Levee_V1_BreakerState(previous)
        response.current = Levee_V1_BreakerState(current)
        return response
    }

    public func reload(request: Levee_V1_ReloadRequest, context: ServerContext) async throws -> Levee_V1_ReloadResponse
    {
        let summary: UpstreamRegistry.ReloadSummary
        do {
            summary = try reloader.reload()
        } catch {
            switch error {
            case .noFile: throw RPCError(code: .failedPrecondition, message: "\(error)")
            case .invalid: throw RPCError(code: .invalidArgument, message: "\(error)")
            }
        }
        var response = Levee_V1_ReloadResponse()
        response.configGeneration = summary.generation
        response.added = summary.added
        response.removed = summary.removed
        response.changed = summary.changed
        response.unchanged = summary.unchanged
        return response
    }
}
