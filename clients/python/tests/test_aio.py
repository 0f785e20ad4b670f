import asyncio

import pytest

import levee
import levee.aio
from levee import BreakerState, Outcome, Priority


def run(coroutine):
    return asyncio.run(coroutine)


def test_async_call(agent_socket, unique):
    async def main():
        async with levee.aio.Levee(agent_socket) as client:
            await client.ping()
            plain = await client.call("web", "GET", "/ok", timeout=2)
            retried = await client.call("web", "GET", f"/flaky/aio-{unique}", timeout=3)
            many = await asyncio.gather(*(client.call("web", "GET", "/ok", timeout=5) for _ in range(16)))
            return plain, retried, many

    plain, retried, many = run(main())
    assert plain.ok and plain.body == b"hello from upstream"
    assert plain.headers["x-upstream"] == "real"
    assert retried.ok and retried.attempts == 2
    assert all(response.ok for response in many)


def test_async_permit_and_errors(agent_socket):
    async def main():
        async with levee.aio.Levee(agent_socket) as client:
            async with client.permit("db", timeout=2) as permit:
                busy = await client.call("db", "GET", "/ok", timeout=2, priority=Priority.SHEDDABLE)
            with pytest.raises(levee.UnknownUpstreamError):
                await client.call("no-such-upstream", "GET", "/", timeout=1)
            return permit, busy

    permit, busy = run(main())
    assert busy.outcome is Outcome.BULKHEAD_FULL
    assert permit.breaker is BreakerState.CLOSED


def test_async_watch(agent_socket):
    async def main():
        async with levee.aio.Levee(agent_socket) as client:
            changes = client.watch(["web"])
            first = await changes.__anext__()
            await changes.aclose()
            return first

    first = run(main())
    assert first.snapshot and first.upstreams[0].name == "web"


def test_async_no_agent(scratch):
    async def main():
        async with levee.aio.Levee(str(scratch / "nobody.sock")) as client:
            await client.call("web", "GET", "/ok", timeout=1)

    with pytest.raises(levee.NoAgentError):
        run(main())
