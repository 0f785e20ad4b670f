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



def main():
    path = sys.argv[1]
    outcome = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    call_response = bytes([0x08, outcome, 0x4A, 0x04]) + b"test"  # outcome = 1 (varint), detail = 9
    identity = lambda b: b  # noqa: E731 -- bytes in, bytes out
    handlers = {
        "Ping": grpc.unary_unary_rpc_method_handler(
            lambda req, ctx: b"", request_deserializer=identity, response_serializer=identity),
        "Call": grpc.unary_unary_rpc_method_handler(
            lambda req, ctx: call_response, request_deserializer=identity, response_serializer=identity),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("levee.v1.Guard", handlers),))
    server.add_insecure_port("unix://" + path)
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
