"""The tests run beside a real agent and a real upstream: clients/python/tests/run.sh starts both
(through clients/testing/with-agent.sh, which names the upstreams these tests use)."""
import os
import socket as sockets
import uuid

import pytest

import levee


@pytest.fixture(scope="session")
def agent_socket() -> str:
    path = os.environ.get("LEVEE_SOCKET")
    if not path or not os.path.exists(path):
        pytest.fail("no agent: run these tests through clients/python/tests/run.sh (LEVEE_SOCKET)")
    return path


@pytest.fixture
def client(agent_socket):
    with levee.Levee(agent_socket) as client:
        yield client


@pytest.fixture
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("levee")


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def silent_socket(tmp_path_factory):
    """A socket that accepts connections and never answers: a stopped agent."""
    path = "/tmp/levee-silent-" + uuid.uuid4().hex[:8] + ".sock"
    listener = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    yield path
    listener.close()
    os.unlink(path)
