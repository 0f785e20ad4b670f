"""The asyncio client, on grpc.aio: the same API as `levee.Levee`, awaited."""
from __future__ import annotations

import contextlib
from typing import AsyncIterator, Iterable, Optional

import grpc
import grpc.aio

from levee import _common as common
from levee._common import Headers, Priority, Response, StateChange
from levee._permit import Permit
from levee.v1 import guard_pb2, guard_pb2_grpc


class Levee:
    """`async with levee.aio.Levee() as client: response = await client.call(...)`. Create it inside
    the event loop that uses it."""

    def __init__(self, socket: Optional[str] = None):
        self.socket = socket or common.default_socket()
        self._channel = grpc.aio.insecure_channel(f"unix:{self.socket}", options=common.CHANNEL_OPTIONS)
        self._guard = guard_pb2_grpc.GuardStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> "Levee":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def _invoke(self, method, request, timeout: Optional[float], rpc_timeout: float):
        try:
            return await method(request, timeout=rpc_timeout)
        except grpc.RpcError as error:
            raise common.translate(error, self.socket, timeout) from None

    async def call(
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
        request = common.call_request(
            upstream, method, path, body, headers, timeout, priority, idempotency_key, cache_key
        )
        answer = await self._invoke(self._guard.Call, request, timeout, common.rpc_timeout(timeout))
        return common.response(answer)

    async def ping(self, timeout: float = 1.0) -> None:
        await self._invoke(self._guard.Ping, guard_pb2.PingRequest(), timeout, timeout)

    async def acquire(
        self,
        upstream: str,
        *,
        timeout: Optional[float] = None,
        priority: Optional[Priority] = None,
        lease: Optional[float] = None,
        attempt: int = 0,
    ) -> Permit:
        request = common.acquire_request(upstream, timeout, priority, lease, attempt)
        answer = await self._invoke(self._guard.Acquire, request, timeout, common.rpc_timeout(timeout))
        if not answer.granted:
            raise common.denial(upstream, answer)
        return Permit(upstream, answer.permit_id, answer.endpoint, answer.lease_ms / 1000, answer.backoff_ms / 1000)

    async def release(self, permit: Permit, *, raised: bool = False) -> None:
        request = guard_pb2.ReleaseRequest(
            permit_id=permit.id, result=int(permit._outcome(raised)), duration_us=permit._duration_us()
        )
        answer = await self._invoke(self._guard.Release, request, None, 5.0)
        permit.breaker = common.BreakerState(answer.breaker)

    @contextlib.asynccontextmanager
    async def permit(
        self,
        upstream: str,
        *,
        timeout: Optional[float] = None,
        priority: Optional[Priority] = None,
        lease: Optional[float] = None,
        attempt: int = 0,
    ) -> AsyncIterator[Permit]:
        """`async with client.permit("db") as p:`; a block that raises records a failure."""
        granted = await self.acquire(upstream, timeout=timeout, priority=priority, lease=lease, attempt=attempt)
        try:
            yield granted
        except BaseException:
            await self.release(granted, raised=True)
            raise
        await self.release(granted)

    async def watch(self, upstreams: Iterable[str] = ()) -> AsyncIterator[StateChange]:
        """`async for change in client.watch():` the state, then every change."""
        stream = self._guard.Watch(guard_pb2.WatchRequest(upstreams=list(upstreams)))
        try:
            async for event in stream:
                yield common.state_change(event)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                raise common.translate(error, self.socket, None) from None
        finally:
            stream.cancel()
