"""Calls a Levee agent from Python over its Unix socket, as an application in another language would.

Usage: interop.py STUBS_DIR SOCKET_PATH UPSTREAM

STUBS_DIR holds levee/v1/guard_pb2.py and guard_pb2_grpc.py, generated from proto/ by grpc_tools.
Prints one JSON object with what it saw; the Swift test checks it.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from levee.v1 import guard_pb2, guard_pb2_grpc  # noqa: E402


def main() -> None:
    socket_path, upstream = sys.argv[2], sys.argv[3]
    seen = {}
    with grpc.insecure_channel(f"unix://{socket_path}") as channel:
        stub = guard_pb2_grpc.GuardStub(channel)
        stub.Ping(guard_pb2.PingRequest(), timeout=5)
        seen["ping"] = True

        response = stub.Call(
            guard_pb2.CallRequest(
                upstream=upstream,
                http=guard_pb2.HttpRequest(
                    method="POST",
                    path="/python",
                    headers=[guard_pb2.Header(name="x-client", value="python")],
                    body=b"from python",
                ),
                timeout_ms=2000,
            ),
            timeout=5,
        )
        seen["call"] = {
            "outcome": guard_pb2.Outcome.Name(response.outcome),
            "status": response.http.status,
            "body": response.http.body.decode(),
            "attempts": response.attempts,
            "endpoint": response.endpoint,
        }

        try:
            stub.Call(guard_pb2.CallRequest(upstream="no-such-upstream", http=guard_pb2.HttpRequest(path="/")), timeout=5)
            seen["unknown"] = "no error"
        except grpc.RpcError as error:
            seen["unknown"] = {"code": error.code().name, "details": error.details()}

        permit = stub.Acquire(guard_pb2.AcquireRequest(upstream=upstream, lease_ms=1000), timeout=5)
        released = stub.Release(
            guard_pb2.ReleaseRequest(permit_id=permit.permit_id, result=guard_pb2.ATTEMPT_RESULT_SUCCESS, duration_us=1500),
            timeout=5,
        )
        seen["permit"] = {"granted": permit.granted, "breaker": guard_pb2.BreakerState.Name(released.breaker)}

        stream = stub.Watch(guard_pb2.WatchRequest(), timeout=5)
        first = next(stream)
        seen["watch"] = {
            "snapshot": first.snapshot,
            "upstreams": [
                {"name": u.name, "breaker": guard_pb2.BreakerState.Name(u.breaker), "total_endpoints": u.total_endpoints}
                for u in first.upstreams
            ],
        }
        stream.cancel()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
