"""levee: call the Levee agent from Python.

    from levee import Levee
    client = Levee()                                   # $LEVEE_SOCKET, or the agent's default socket
    response = client.call("payments", "GET", "/balance", timeout=0.8)
    if response.ok: ...

`levee.aio.Levee` is the asyncio twin. The gRPC stubs (`levee.v1.guard_pb2`) are generated from the
agent's proto/ when the package is built.
"""
from levee._common import (
    AgentTimeoutError,
    AttemptResult,
    BreakerState,
    DenyReason,
    Fallback,
    LeveeError,
    NoAgentError,
    Outcome,
    PermitDenied,
    Priority,
    Response,
    ServiceLevel,
    StateChange,
    StateSource,
    UnknownUpstreamError,
    UpstreamState,
    default_socket,
)
from levee._permit import Permit
from levee._sync import Levee

__version__ = "0.1.0"

__all__ = [
    "AgentTimeoutError",
    "AttemptResult",
    "BreakerState",
    "DenyReason",
    "Fallback",
    "Levee",
    "LeveeError",
    "NoAgentError",
    "Outcome",
    "Permit",
    "PermitDenied",
    "Priority",
    "Response",
    "ServiceLevel",
    "StateChange",
    "StateSource",
    "UnknownUpstreamError",
    "UpstreamState",
    "default_socket",
]
