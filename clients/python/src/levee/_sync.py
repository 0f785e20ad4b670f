"""The blocking client, on grpcio's synchronous API."""
from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, Optional

import grpc

from levee import _common as common
from levee._common import Headers, Priority, Response, StateChange
from levee._permit import Permit
from levee.v1 import guard_pb2, guard_pb2_grpc


class Levee:
    """A client of the agent's Guard API. Thread-safe: share one per process.

    `socket` is the agent's `listen.socket`; by default $LEVEE_SOCKET, else the agent's built-in default.
    """

    def __init__(self, socket: Optional[str] = None):
        self.socket = socket or common.default_socket()
        self._channel = grpc.insecure_channel(f"unix:{self.socket}", options=common.CHANNEL_OPTIONS)
        self._guard = guard_pb2_grpc.GuardStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Levee":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _invoke(self, method, request, timeout: Optional[float], rpc_timeout: float):
        try:
            return method(request, timeout=rpc_timeout)
        except grpc.RpcError as error:
            raise common.translate(error, self.socket, timeout) from None

    def call(
        self,
        upstream: str,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: Headers = None,
        timeout: Optional[float] = None,
        priority: Optional[Priority] = None,
        idempotency_key: Optional[str] = None,
        cache_key: Optional[str] = None,
    ) -> Response:
        """Makes an HTTP call to `upstream` under its policy. `timeout` is in seconds (None: the
        upstream's `timeouts.total`). Raises only when the agent could not be asked; what happened to
        the call itself is in the response's `outcome`."""
        request = common.call_request(
            upstream, method, path, body, headers, timeout, priority, idempotency_key, cache_key
        )
        answer = self._invoke(self._guard.Call, request, timeout, common.rpc_timeout(timeout))
        return common.response(answer)

    def ping(self, timeout: float = 1.0) -> None:
        """Raises NoAgentError or AgentTimeoutError unless the agent answers within `timeout`."""
        self._invoke(self._guard.Ping, guard_pb2.PingRequest(), timeout, timeout)

    def acquire(
        self,
        upstream: str,
        *,
        timeout: Optional[float] = None,
        priority: Optional[Priority] = None,
        lease: Optional[float] = None,
        attempt: int = 0,
    ) -> Permit:
        """A permit under the upstream's breaker, bulkhead and budget; raises PermitDenied. Prefer
        `permit()`, which releases it."""
        request = common.acquire_request(upstream, timeout, priority, lease, attempt)
        answer = self._invoke(self._guard.Acquire, request, timeout, common.rpc_timeout(timeout))
        if not answer.granted:
            raise common.denial(upstream, answer)
        return Permit(upstream, answer.permit_id, answer.endpoint, answer.lease_ms / 1000, answer.backoff_ms / 1000)

    def release(self, permit: Permit, *, raised: bool = False) -> None:
        """Reports the permit's result (see Permit) and frees its slot."""
        request = guard_pb2.ReleaseRequest(
            permit_id=permit.id, result=int(permit._outcome(raised)), duration_us=permit._duration_us()
        )
        answer = self._invoke(self._guard.Release, request, None, 5.0)
        permit.breaker = common.BreakerState(answer.breaker)

    @contextlib.contextmanager
    def permit(
        self,
        upstream: str,
        *,
        timeout: Optional[float] = None,
        priority: Optional[Priority] = None,
        lease: Optional[float] = None,
        attempt: int = 0,
    ) -> Iterator[Permit]:
        """`with client.permit("db", timeout=0.2) as p:` around a call the app makes itself. A block
        that raises records a failure (and the exception goes on); `p.failed()` records one too."""
        granted = self.acquire(upstream, timeout=timeout, priority=priority, lease=lease, attempt=attempt)
        try:
            yield granted
        except BaseException:
            self.release(granted, raised=True)
            raise
        self.release(granted)

    def watch(self, upstreams: Iterable[str] = ()) -> Iterator[StateChange]:
        """The state of the upstreams (all, or those named), then every change, until the iterator is
        closed or the agent goes away (NoAgentError)."""
        stream = self._guard.Watch(guard_pb2.WatchRequest(upstreams=list(upstreams)))
        try:
            for event in stream:
                yield common.state_change(event)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                raise common.translate(error, self.socket, None) from None
        finally:
            stream.cancel()
