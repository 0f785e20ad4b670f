public import GRPCCore
public import LeveeAPI

// The chaos fault RPCs. The fault table is not built yet: until it is, every one of them answers
// UNIMPLEMENTED, so a client learns the agent cannot inject faults instead of being told nothing.
extension AdminService {
    public func addFault(
        request: Levee_V1_AddFaultRequest,
        context: ServerContext
    ) async throws -> Levee_V1_AddFaultResponse {
        throw RPCError(code: .unimplemented, message: "this agent cannot inject faults yet")
    }

    public func listFaults(
        request: Levee_V1_ListFaultsRequest,
        context: ServerContext
    ) async throws -> Levee_V1_ListFaultsResponse {
        throw RPCError(code: .unimplemented, message: "this agent cannot inject faults yet")
    }

    public func clearFaults(
        request: Levee_V1_ClearFaultsRequest,
        context: ServerContext
    ) async throws -> Levee_V1_ClearFaultsResponse {
        throw RPCError(code: .unimplemented, message: "this agent cannot inject faults yet")
    }
}
