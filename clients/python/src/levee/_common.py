"""What the sync and asyncio clients share: the types they return, the errors they raise, and the
mapping between those and the agent's Guard API (levee/v1/guard.proto)."""
from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Tuple, Union

import grpc

from levee.v1 import guard_pb2

#: How long past the call's own timeout the RPC waits for the agent's answer (the agent answers at
#: the deadline with TIMEOUT or a fallback; that answer must have time to arrive).
ANSWER_GRACE = 0.25
#: The bound on an RPC that has no timeout of its own.
DEFAULT_RPC_TIMEOUT = 30.0

#: An agent that restarts is found again within a second (gRPC's default reconnect backoff grows
#: to two minutes, during which every call would fail at once).
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.max_receive_message_length", 64 << 20),
]


class Outcome(enum.IntEnum):
    """Why a call did or did not produce a real answer."""

    UNSPECIFIED = 0
    OK = 1
    UPSTREAM_FAILURE = 2
    TIMEOUT = 3
    CONNECT_FAILURE = 4
    CIRCUIT_OPEN = 5
    BULKHEAD_FULL = 6
    NO_HEALTHY_ENDPOINT = 7
    FAULT_INJECTED = 8


class Fallback(enum.IntEnum):
    NONE = 0
    STATIC = 1
    STALE = 2


class Priority(enum.IntEnum):
    NORMAL = 0
    CRITICAL = 1
    SHEDDABLE = 2


class BreakerState(enum.IntEnum):
    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2
    FORCED_OPEN = 3
    FORCED_CLOSED = 4


class StateSource(enum.IntEnum):
    LOCAL = 0
    PEERS = 1
    OPERATOR = 2


class ServiceLevel(enum.IntEnum):
    UNSPECIFIED = 0
    FULL = 1
    DEGRADED = 2
    MINIMAL = 3


class DenyReason(enum.IntEnum):
    UNSPECIFIED = 0
    CIRCUIT_OPEN = 1
    BULKHEAD_FULL = 2
    RETRY_BUDGET_EXHAUSTED = 3
    DEADLINE = 4
    MAX_ATTEMPTS = 5
    NO_HEALTHY_ENDPOINT = 6


class AttemptResult(enum.IntEnum):
    SUCCESS = 0
    FAILURE = 1
    TIMEOUT = 2
    IGNORED = 3


class LeveeError(Exception):
    """The agent could not be asked, or refused the request; `code` is the gRPC status, if any."""

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None):
        super().__init__(message)
        self.code = code


class NoAgentError(LeveeError):
    """Nothing answers on the socket: start the agent (`levee agent`) or point LEVEE_SOCKET at it."""


class AgentTimeoutError(LeveeError):
    """The agent did not answer within the call's timeout."""


class UnknownUpstreamError(LeveeError):
    """The agent's configuration has no such upstream."""


class PermitDenied(LeveeError):
    """`permit()` was refused: the breaker is open, the bulkhead full, or the retry not allowed."""

    def __init__(self, message: str, outcome: Outcome, reason: DenyReason, retry_after: Optional[float]):
        super().__init__(message)
        self.outcome = outcome
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    """What the agent did with a call. `ok` is true when the upstream itself answered and the answer
    is not a failure; a fallback answer has `ok` false and `fallback` set, with its body."""

    outcome: Outcome
    fallback: Fallback
    status: int
    headers: Mapping[str, str]
    body: bytes
    attempts: int
    endpoint: str
    retry_after: Optional[float]
    detail: str
    elapsed: float
    # The call failed after the agent retried as far as its policy allows (or the budget refused a
    # retry, or the upstream said not to retry): an app that fails its own caller because of it should
    # pass that on (`x-levee-retry-pushback-ms: -1` on HTTP, `grpc-retry-pushback-ms: -1` on gRPC), so
    # that the tiers above do not retry it again.
    do_not_retry: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK and self.fallback == Fallback.NONE


@dataclass(frozen=True)
class UpstreamState:
    name: str
    breaker: BreakerState
    in_flight: int
    queued: int
    healthy_endpoints: int
    total_endpoints: int
    source: StateSource
    retry_after: Optional[float]
    peers_reporting_open: int


@dataclass(frozen=True)
class StateChange:
    """One event of `watch()`: the first holds every upstream (`snapshot`), later ones what changed."""

    snapshot: bool
    upstreams: Sequence[UpstreamState]
    removed: Sequence[str] = ()
    level: Optional[ServiceLevel] = None
    reasons: Sequence[str] = field(default_factory=tuple)


Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]], None]


def default_socket() -> str:
    """$LEVEE_SOCKET, else the agent's built-in default socket."""
    configured = os.environ.get("LEVEE_SOCKET")
    if configured:
        return configured
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and runtime.startswith("/"):
        candidate = os.path.join(runtime.rstrip("/") or "/", "levee", "levee.sock")
        if len(candidate.encode()) <= 107:
            return candidate
    return f"/tmp/levee-{os.getuid()}/levee.sock"


def seconds_to_ms(value: Optional[float]) -> int:
    if value is None:
        return 0
    if value < 0:
        raise ValueError("a timeout must not be negative")
    return max(1, int(value * 1000)) if value > 0 else 0


def rpc_timeout(timeout: Optional[float]) -> float:
    return timeout + ANSWER_GRACE if timeout else DEFAULT_RPC_TIMEOUT


def call_request(
    upstream: str,
    method: str,
    path: str,
    body: bytes,
    headers: Headers,
    timeout: Optional[float],
    priority: Optional[Priority],
    idempotency_key: Optional[str],
    cache_key: Optional[str],
) -> guard_pb2.CallRequest:
    if not upstream:
        raise ValueError("upstream is required")
    if not path.startswith("/"):
        raise ValueError(f'path must start with "/", got {path!r}')
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return guard_pb2.CallRequest(
        upstream=upstream,
        http=guard_pb2.HttpRequest(
            method=method or "GET",
            path=path,
            headers=[guard_pb2.Header(name=name, value=value) for name, value in pairs],
            body=body or b"",
        ),
        timeout_ms=seconds_to_ms(timeout),
        priority=int(priority or Priority.NORMAL),
        idempotency_key=idempotency_key or "",
        cache_key=cache_key or "",
    )


def response(answer: guard_pb2.CallResponse) -> Response:
    http = answer.http if answer.HasField("http") else None
    return Response(
        outcome=Outcome(answer.outcome),
        fallback=Fallback(answer.fallback),
        status=http.status if http else 0,
        headers={header.name.lower(): header.value for header in http.headers} if http else {},
        body=bytes(http.body) if http else b"",
        attempts=answer.attempts,
        endpoint=answer.endpoint,
        retry_after=answer.retry_after_ms / 1000 if answer.retry_after_ms else None,
        detail=answer.detail,
        elapsed=answer.elapsed_us / 1e6,
        do_not_retry=answer.do_not_retry,
    )


def acquire_request(
    upstream: str, timeout: Optional[float], priority: Optional[Priority], lease: Optional[float], attempt: int
) -> guard_pb2.AcquireRequest:
    if not upstream:
        raise ValueError("upstream is required")
    return guard_pb2.AcquireRequest(
        upstream=upstream,
        priority=int(priority or Priority.NORMAL),
        timeout_ms=seconds_to_ms(timeout),
        attempt=attempt,
        lease_ms=seconds_to_ms(lease),
    )


def denial(upstream: str, answer: guard_pb2.AcquireResponse) -> PermitDenied:
    outcome = Outcome(answer.denied_by)
    reason = DenyReason(answer.deny_reason)
    retry_after = answer.retry_after_ms / 1000 if answer.retry_after_ms else None
    what = outcome.name if outcome != Outcome.UNSPECIFIED else reason.name
    return PermitDenied(f"no permit for {upstream}: {what}: {answer.detail}", outcome, reason, retry_after)


def upstream_state(state: guard_pb2.UpstreamState) -> UpstreamState:
    return UpstreamState(
        name=state.name,
        breaker=BreakerState(state.breaker),
        in_flight=state.in_flight,
        queued=state.queued,
        healthy_endpoints=state.healthy_endpoints,
        total_endpoints=state.total_endpoints,
        source=StateSource(state.source),
        retry_after=state.retry_after_ms / 1000 if state.retry_after_ms else None,
        peers_reporting_open=state.peers_reporting_open,
    )


def state_change(event: guard_pb2.WatchEvent) -> StateChange:
    has_level = event.HasField("level")
    return StateChange(
        snapshot=event.snapshot,
        upstreams=tuple(upstream_state(state) for state in event.upstreams),
        removed=tuple(event.removed),
        level=ServiceLevel(event.level.level) if has_level else None,
        reasons=tuple(event.level.reasons) if has_level else (),
    )


def translate(error: grpc.RpcError, socket: str, timeout: Optional[float]) -> LeveeError:
    """The gRPC error as one that says what to do."""
    code = error.code() if hasattr(error, "code") else None
    details = (error.details() if hasattr(error, "details") else None) or str(error)
    if code == grpc.StatusCode.UNAVAILABLE:
        return NoAgentError(
            f"no agent answers on {socket}: start one with `levee agent` (or set LEVEE_SOCKET to its "
            f"listen.socket) [{details}]",
            code,
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        bound = f"{timeout:g} s" if timeout else "its timeout"
        return AgentTimeoutError(
            f"the agent on {socket} did not answer within {bound}: is it stopped or overloaded? (`levee status`)",
            code,
        )
    if code == grpc.StatusCode.NOT_FOUND:
        return UnknownUpstreamError(details, code)
    return LeveeError(details, code)
