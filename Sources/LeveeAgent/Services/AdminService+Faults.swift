public import GRPCCore
public import LeveeAPI
import LeveeConfiguration
import LeveePolicy

// The chaos fault RPCs over the agent's fault table. While `chaos.enabled` is off each of them fails
// with FAILED_PRECONDITION naming that key; bad input is INVALID_ARGUMENT naming the field; an unknown
// upstream or fault id is NOT_FOUND.
extension AdminService {
    public func addFault(
        request: Levee_V1_AddFaultRequest,
        context: ServerContext
    ) async throws -> Levee_V1_AddFaultResponse {
        let table = try enabledFaults()
        let spec = try FaultSpec(request.fault)
        let fault: ActiveFault
        do {
            fault = try table.add(spec, source: request.source.isEmpty ? "cli" : request.source)
        } catch {
            throw RPCError(error)
        }
        var response = Levee_V1_AddFaultResponse()
        response.fault = Levee_V1_Fault(fault)
        return response
    }

    public func listFaults(
        request: Levee_V1_ListFaultsRequest,
        context: ServerContext
    ) async throws -> Levee_V1_ListFaultsResponse {
        let table = try enabledFaults()
        let chaos = table.chaos
        var response = Levee_V1_ListFaultsResponse()
        response.faults = table.list(upstream: request.upstream.isEmpty ? nil : request.upstream).map(
            Levee_V1_Fault.init
        )
        response.enabled = chaos.enabled
        response.maxActive = UInt32(clamping: chaos.maxActive)
        response.maxDurationMs = chaos.maxDuration.wireMilliseconds
        return response
    }

    public func clearFaults(
        request: Levee_V1_ClearFaultsRequest,
        context: ServerContext
    ) async throws -> Levee_V1_ClearFaultsResponse {
        let table = try enabledFaults()
        var response = Levee_V1_ClearFaultsResponse()
        switch (request.id.isEmpty, request.all) {
        case (true, true):
            response.cleared = table.clearAll()
        case (false, false):
            guard table.clear(id: request.id) else {
                throw RPCError(code: .notFound, message: "id: no active fault \(request.id.debugDescription)")
            }
            response.cleared = [request.id]
        default:
            throw RPCError(code: .invalidArgument, message: "id, all: exactly one of them (a fault's id, or all)")
        }
        return response
    }

    /// The fault table, when `chaos.enabled` allows faults.
    private func enabledFaults() throws -> FaultTable {
        guard let faults, faults.chaos.enabled else {
            throw RPCError(code: .failedPrecondition, message: FaultTableError.disabled.description)
        }
        return faults
    }
}

extension FaultSpec {
    /// The spec `AddFault` asks for; INVALID_ARGUMENT naming the field when it cannot be one. Zero
    /// values mean the defaults: 100 %, 5 minutes, every endpoint, every request.
    init(_ spec: Levee_V1_FaultSpec) throws(RPCError) {
        let action: FaultAction
        switch spec.kind {
        case .abort: action = .abort(httpStatus: Int(spec.httpStatus))
        case .abortGrpc: action = .abortGRPC(code: Int(spec.grpcCode))
        case .reset: action = .reset
        case .blackhole: action = .blackhole
        case .delay: action = .delayOnly
        case .unspecified, .UNRECOGNIZED:
            throw RPCError(
                code: .invalidArgument,
                message: "fault.kind: one of FAULT_KIND_ABORT, _ABORT_GRPC, _RESET, _BLACKHOLE, _DELAY"
            )
        }
        guard spec.percent.isFinite, spec.percent >= 0, spec.percent <= 100 else {
            throw RPCError(code: .invalidArgument, message: "fault.percent: a number in (0, 100], not \(spec.percent)")
        }
        if spec.headerName.isEmpty && !spec.headerValue.isEmpty {
            throw RPCError(code: .invalidArgument, message: "fault.header_name: required with header_value")
        }
        self.init(
            upstream: spec.upstream,
            action: action,
            delay: .milliseconds(Int64(spec.delayMs)),
            percent: spec.percent == 0 ? 100 : spec.percent,
            endpoint: spec.endpoint.isEmpty ? nil : spec.endpoint,
            header: spec.headerName.isEmpty ? nil : FaultHeaderMatch(name: spec.headerName, value: spec.headerValue),
            duration: spec.durationMs == 0 ? nil : .milliseconds(Int64(spec.durationMs))
        )
        if let problem = self.problem {
            throw RPCError(code: .invalidArgument, message: "fault.\(problem)")
        }
    }
}

extension Levee_V1_FaultSpec {
    init(_ spec: FaultSpec) {
        self.init()
        upstream = spec.upstream
        switch spec.action {
        case .abort(let status):
            kind = .abort
            httpStatus = UInt32(clamping: status)
        case .abortGRPC(let code):
            kind = .abortGrpc
            grpcCode = UInt32(clamping: code)
        case .reset: kind = .reset
        case .blackhole: kind = .blackhole
        case .delayOnly: kind = .delay
        }
        delayMs = spec.delay.wireMilliseconds
        percent = spec.percent
        endpoint = spec.endpoint ?? ""
        headerName = spec.header?.name ?? ""
        headerValue = spec.header?.value ?? ""
        durationMs = (spec.duration ?? FaultSpec.defaultDuration).wireMilliseconds
    }
}

extension Levee_V1_Fault {
    /// A fault as `ListFaults`, `AddFault` and `UpstreamInfo.faults` show it.
    init(_ fault: ActiveFault) {
        self.init()
        id = fault.id
        spec = Levee_V1_FaultSpec(fault.spec)
        remainingMs = fault.remaining.wireMilliseconds
        hits = fault.hits
        source = fault.source
        description_p = fault.spec.description
    }
}

extension RPCError {
    /// The answer to a fault the table refused.
    init(_ error: FaultTableError) {
        let code: RPCError.Code =
            switch error {
            case .disabled: .failedPrecondition
            case .tooManyActive: .resourceExhausted
            case .unknownUpstream: .notFound
            case .invalid: .invalidArgument
            }
        let message =
            switch error {
            case .invalid(let problem) where !problem.hasPrefix("upstream"): "fault.\(problem)"
            default: error.description
            }
        self.init(code: code, message: message)
    }
}
