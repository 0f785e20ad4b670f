import threading
import time

import pytest

import levee
from levee import BreakerState, Fallback, Outcome, Priority


def test_call_answers_with_the_upstream_response(client):
    response = client.call(
        "web", "POST", "/echo", body=b"from python", headers={"x-client": "python"}, timeout=2,
        idempotency_key="py-1",
    )
    assert response.ok
    assert response.outcome is Outcome.OK
    assert response.status == 200
    assert response.body == b"from python"
    assert response.headers["x-method"] == "POST"
    assert response.headers["x-client"] == "python"
    assert response.attempts == 1
    assert response.fallback is Fallback.NONE
    assert response.endpoint
    assert response.retry_after is None


def test_a_503_is_retried_then_answered(client, unique):
    response = client.call("web", "GET", f"/flaky/{unique}", timeout=3)
    assert response.ok, response.detail
    assert response.attempts == 2
    assert response.body == b"recovered"
    assert not response.do_not_retry


def test_an_open_breaker_says_when_to_retry(client):
    outcomes = []
    for _ in range(20):
        response = client.call("sick", "GET", "/fail", timeout=2)
        outcomes.append(response.outcome)
        if response.outcome is Outcome.CIRCUIT_OPEN:
            break
        # A failure retried as far as the policy allows tells the app not to retry it again.
        assert response.do_not_retry == (response.attempts > 1), response
    assert outcomes[-1] is Outcome.CIRCUIT_OPEN, outcomes
    assert outcomes.count(Outcome.UPSTREAM_FAILURE) <= 4
    assert not response.ok
    assert response.attempts == 0
    assert 0 < response.retry_after <= 60
    assert response.detail


def test_unknown_upstream_is_an_error_naming_it(client):
    with pytest.raises(levee.UnknownUpstreamError, match="no-such-upstream"):
        client.call("no-such-upstream", "GET", "/", timeout=1)


def test_bad_arguments_are_refused_before_sending(client):
    with pytest.raises(ValueError, match="path"):
        client.call("web", "GET", "no-slash")


def test_permit_shares_the_bulkhead_with_calls(client):
    with client.permit("db", timeout=2, lease=10) as permit:
        assert permit.id
        busy = client.call("db", "GET", "/ok", timeout=2, priority=Priority.SHEDDABLE)
        assert busy.outcome is Outcome.BULKHEAD_FULL
    assert permit.breaker is BreakerState.CLOSED
    assert client.call("db", "GET", "/ok", timeout=2, priority=Priority.SHEDDABLE).ok


def test_permit_failures_count_when_the_block_raises_or_says_so(client):
    with client.permit("vendor", timeout=2) as first:
        first.failed()
    assert first.breaker is BreakerState.CLOSED
    with pytest.raises(ConnectionError):
        with client.permit("vendor", timeout=2):
            raise ConnectionError("the vendor SDK gave up")
    # Two failures in a window of two at 100 %: the breaker is open, the next permit is denied.
    with pytest.raises(levee.PermitDenied) as denied:
        with client.permit("vendor", timeout=2):
            pytest.fail("granted while the breaker is open")
    assert denied.value.outcome is Outcome.CIRCUIT_OPEN
    assert denied.value.retry_after and denied.value.retry_after > 0


def test_watch_streams_the_state_then_each_change(client):
    changes = client.watch(["watched"])
    first = next(changes)
    assert first.snapshot
    assert [state.name for state in first.upstreams] == ["watched"]
    assert first.upstreams[0].breaker is BreakerState.CLOSED
    assert first.level is not None
    for _ in range(2):
        client.call("watched", "GET", "/fail", timeout=2)
    seen = []
    for change in changes:
        seen.extend(change.upstreams)
        if any(state.breaker is BreakerState.OPEN for state in change.upstreams):
            break
    changes.close()
    assert seen[-1].name == "watched" and seen[-1].breaker is BreakerState.OPEN


def test_no_agent_fails_within_the_timeout(scratch):
    client = levee.Levee(str(scratch / "nobody.sock"))
    started = time.monotonic()
    with pytest.raises(levee.NoAgentError, match="start one with `levee agent`"):
        client.call("web", "GET", "/ok", timeout=1.5)
    assert time.monotonic() - started < 1.5 + levee._common.ANSWER_GRACE + 1
    client.close()


def test_a_silent_agent_fails_within_the_timeout(silent_socket):
    client = levee.Levee(silent_socket)
    started = time.monotonic()
    with pytest.raises((levee.AgentTimeoutError, levee.NoAgentError)):
        client.call("web", "GET", "/ok", timeout=0.7)
    assert time.monotonic() - started < 0.7 + levee._common.ANSWER_GRACE + 1
    client.close()


def test_threads_share_one_client(client):
    results = []
    lock = threading.Lock()

    def work():
        for _ in range(20):
            response = client.call("web", "GET", "/ok", timeout=5)
            with lock:
                results.append(response.ok and response.body == b"hello from upstream")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 160


def test_default_socket_follows_the_agent(monkeypatch):
    monkeypatch.setenv("LEVEE_SOCKET", "/run/levee/levee.sock")
    assert levee.default_socket() == "/run/levee/levee.sock"
    monkeypatch.delenv("LEVEE_SOCKET")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000/")
    assert levee.default_socket() == "/run/user/1000/levee/levee.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    import os

    assert levee.default_socket() == f"/tmp/levee-{os.getuid()}/levee.sock"
