"""The Guard API's gRPC conformance, from a Python grpcio client: what any gRPC client may do to the
agent's socket, whichever server answers it (`listen.guard_server`).

Usage: conformance.py STUBS_DIR SOCKET_PATH

The agent has two upstreams: `echo` (answers with the request's body) and `stall` (answers after 5 s),
`stall` with a bulkhead of 2 and no queue, and `listen.max_message_size: 64KiB`. Prints one JSON
object with what it saw; the Swift test checks it.
"""

import concurrent.futures
import json
import socket
import struct
import sys
import time

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from levee.v1 import guard_pb2, guard_pb2_grpc  # noqa: E402


def call_request(upstream, body=b"", timeout_ms=0):
    return guard_pb2.CallRequest(
        upstream=upstream,
        http=guard_pb2.HttpRequest(method="POST", path="/", body=body),
        timeout_ms=timeout_ms,
    )


def failure(error):
    return {"code": error.code().name, "details": error.details()}


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def malformed(socket_path):
    """Connections that break HTTP/2 or gRPC in different ways; each is closed or refused."""
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    sent = [
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n",  # not HTTP/2 at all
        preface + b"\xff" * 64,  # garbage after the preface
        preface + frame(4, 0, 0, b"") + frame(1, 4, 1, b"\xff\xff\xff\xff"),  # HEADERS that are not HPACK
        preface + frame(4, 0, 0, b"") + frame(0, 0, 1, b"\x00\x00\x00\x00\x05hello"),  # DATA on an idle stream
        preface + frame(4, 0, 0, b"\x00\x04\xff\xff\xff\xff"),  # a window over 2^31 - 1
    ]
    answered = 0
    for payload in sent:
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(5)
            connection.connect(socket_path)
            connection.sendall(payload)
            try:
                while connection.recv(65536):
                    pass
            except OSError:
                pass
            answered += 1
    return answered


def main() -> None:
    socket_path = sys.argv[2]
    seen = {}
    with grpc.insecure_channel(f"unix://{socket_path}") as channel:
        stub = guard_pb2_grpc.GuardStub(channel)
        stub.Ping(guard_pb2.PingRequest(), timeout=5)

        # Messages up to the limit go through whole; one over it is RESOURCE_EXHAUSTED.
        body = bytes(range(256)) * 240  # 61 440 bytes: the request is just under 64 KiB
        response = stub.Call(call_request("echo", body), timeout=10)
        seen["large"] = {"outcome": guard_pb2.Outcome.Name(response.outcome), "same": response.http.body == body}
        try:
            stub.Call(call_request("echo", b"x" * (70 << 10)), timeout=10)
            seen["oversized"] = {"code": "OK"}
        except grpc.RpcError as error:
            seen["oversized"] = failure(error)

        # The RPC's deadline bounds the call (the agent answers TIMEOUT itself, just before it).
        started = time.monotonic()
        try:
            response = stub.Call(call_request("stall"), timeout=0.5)
            seen["deadline"] = {"outcome": guard_pb2.Outcome.Name(response.outcome)}
        except grpc.RpcError as error:
            seen["deadline"] = failure(error)
        seen["deadline"]["seconds"] = time.monotonic() - started

        # A cancelled call gives its bulkhead slot back: `stall` has two, and no queue.
        for _ in range(3):
            futures = [stub.Call.future(call_request("stall"), timeout=30) for _ in range(2)]
            time.sleep(0.2)
            for future in futures:
                future.cancel()
        deadline = time.monotonic() + 10
        while True:
            try:
                response = stub.Call(call_request("stall", timeout_ms=100), timeout=10)
                outcome = guard_pb2.Outcome.Name(response.outcome)
            except grpc.RpcError as error:
                outcome = error.code().name
            if outcome != "OUTCOME_BULKHEAD_FULL" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        seen["after_cancel"] = outcome

        # Many RPCs at once on one connection (more than the 100 streams a client opens by default).
        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
            futures = [pool.submit(stub.Call, call_request("echo", b"%d" % i), timeout=30) for i in range(300)]
            answers = [future.result() for future in futures]  # an RPC error raises here
        ok = [(i, answer) for i, answer in enumerate(answers) if answer.outcome == guard_pb2.OUTCOME_OK]
        seen["concurrent"] = {
            "answered": len(answers),
            "ok": len(ok),
            "wrong_body": sum(1 for i, answer in ok if answer.http.body != b"%d" % i),
            "outcomes": sorted({guard_pb2.Outcome.Name(answer.outcome) for answer in answers}),
        }

        # A method the service does not have, and bytes that are not the request message.
        try:
            channel.unary_unary("/levee.v1.Guard/Nope")(b"", timeout=5)
            seen["unknown_method"] = {"code": "OK"}
        except grpc.RpcError as error:
            seen["unknown_method"] = failure(error)
        try:
            channel.unary_unary("/levee.v1.Guard/Call")(b"\xff\xff\xff", timeout=5)
            seen["garbage_message"] = {"code": "OK"}
        except grpc.RpcError as error:
            seen["garbage_message"] = failure(error)

        # A Watch the client cancels, then one that reads its snapshot.
        watch = stub.Watch(guard_pb2.WatchRequest(), timeout=10)
        next(watch)
        watch.cancel()
        first = next(stub.Watch(guard_pb2.WatchRequest(upstreams=["echo"]), timeout=10))
        seen["watch"] = [state.name for state in first.upstreams]

        seen["malformed"] = malformed(socket_path)
        stub.Ping(guard_pb2.PingRequest(), timeout=5)
        seen["ping_after"] = True
    print(json.dumps(seen))


main()
