#!/usr/bin/python3
"""A stand-in for the agent's Guard service, to test the harness before the agent builds.

Serves levee.v1.Guard/Ping (empty answer) and /Call (CallResponse{outcome = OK}, nothing sent
upstream) on a Unix socket with grpcio, raw bytes in and out. Not a baseline: Python's cost per
call says nothing about the agent's.

    /usr/bin/python3 bench/guard/standin.py /tmp/x/levee.sock
"""

import sys
from concurrent import futures

import grpc

CALL_OK = bytes([0x08, 0x01])  # field 1 (outcome), varint 1 = OUTCOME_OK


def main():
    path = sys.argv[1]
    identity = lambda b: b  # noqa: E731 -- bytes in, bytes out
    handlers = {
        "Ping": grpc.unary_unary_rpc_method_handler(
            lambda req, ctx: b"", request_deserializer=identity, response_serializer=identity),
        "Call": grpc.unary_unary_rpc_method_handler(
            lambda req, ctx: CALL_OK, request_deserializer=identity, response_serializer=identity),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("levee.v1.Guard", handlers),))
    server.add_insecure_port("unix://" + path)
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
